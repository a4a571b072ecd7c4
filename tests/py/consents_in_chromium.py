"""The Consents page on a phone in Debian's headless Chromium, driven by
chromedriver through Selenium: the office signs in, opens a class's consents,
finds an unclear answer, settles it as Yes, and sees the page say so. Called by
tests/consents.rs with a running `aup serve`; exits non-zero, saying what the
page showed, on any failure; prints "settled" and what axe-core found.

usage: consents_in_chromium.py URL PAGE_PATH CONSENT PUPIL SHOTS_DIR
"""

import os
import sys

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

url, path, consent, pupil, shots = sys.argv[1:6]
url = url.rstrip("/")

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--window-size=390,844"]:
    options.add_argument(flag)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def fail(what):
    body = driver.find_element(By.TAG_NAME, "body").text[:3000]
    print(f"FAILED: {what}\nat {driver.current_url}\npage:\n{body}", file=sys.stderr)
    driver.save_screenshot(f"{shots}/consents-failure.png")
    driver.quit()
    sys.exit(1)


def wait_for(what, condition, seconds=60):
    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.25,
                             ignored_exceptions=(WebDriverException,)).until(lambda d: condition(d))
    except TimeoutException:
        fail(f"waited {seconds} s for {what}")


try:
    driver.get(url + path)
    if "/login" not in driver.current_url:
        fail("the consents page was shown without signing in")
    driver.find_element(By.ID, "name").send_keys("office")
    driver.find_element(By.ID, "password").send_keys("office password 1")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for("the consents page after signing in", lambda d: d.find_elements(By.CSS_SELECTOR, "table.consents"))
    if path.split("?")[0] not in driver.current_url:
        fail("signing in did not return to the consents page")
    before = driver.find_element(By.ID, "unclear-count").text
    wide = driver.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth")
    if wide > 0:
        fail(f"the consents page scrolls sideways on a phone by {wide} px")
    driver.save_screenshot(f"{shots}/consents-phone.png")
    axe = os.path.join(os.path.dirname(__file__), "..", "js", "node_modules", "axe-core", "axe.min.js")
    driver.execute_script(open(axe, encoding="utf-8").read())
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        ".then(r => done(r.violations.map(v => v.id + ': ' + v.nodes.length)));")
    if found:
        fail(f"axe: {found}")
    label = f"Settle {consent} for {pupil} as yes"
    buttons = driver.find_elements(By.CSS_SELECTOR, f'button[aria-label="{label}"]')
    if len(buttons) != 1:
        fail(f"{len(buttons)} buttons labelled {label!r}")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", buttons[0])
    driver.save_screenshot(f"{shots}/consents-unclear.png")
    buttons[0].click()
    wait_for("the page again with the answer settled",
             lambda d: "(settled by office)" in d.find_element(By.TAG_NAME, "body").text)
    after = driver.find_elements(By.ID, "unclear-count")
    after = after[0].text if after else "no unclear answers"
    if after == before:
        fail(f"the count of unclear answers did not change: {after}")
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    if severe:
        fail(f"console errors: {severe}")
    driver.save_screenshot(f"{shots}/consents-settled.png")
    print(f"settled; before: {before}; after: {after}; axe: 0 violations")
finally:
    driver.quit()
