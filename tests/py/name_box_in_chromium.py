"""A form's page with its name-box crops, in Debian's headless Chromium: signed
in, at a desktop's width and a 390 px phone's; every crop must have loaded,
nothing may scroll sideways on the phone, and the console must stay clean.
Photographs go to SHOTS.

usage: name_box_in_chromium.py URL NAME PASSWORD PATH SHOTS"""
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

url, name, password, path, shots = sys.argv[1:6]
options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"):
    options.add_argument(flag)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
problems = []
try:
    driver.get(url.rstrip("/") + "/login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "header .who"))
    for size, width, height in (("desktop", 1200, 1400), ("phone", 390, 844)):
        driver.set_window_size(width, height)
        driver.get(url.rstrip("/") + path)
        WebDriverWait(driver, 60).until(
            lambda d: d.execute_script(
                "const crops = [...document.querySelectorAll('figure.name-box img')];"
                "return crops.length > 0 && crops.every(i => i.complete);"
            )
        )
        shown = driver.execute_script(
            "return [...document.querySelectorAll('figure.name-box img')]"
            ".map(i => [i.naturalWidth, i.getBoundingClientRect().right]);"
        )
        if any(natural == 0 for natural, _ in shown):
            problems.append(f"{size}: a crop did not load: {shown}")
        sideways = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth;")
        if sideways > 0 or any(right > width + 1 for _, right in shown):
            problems.append(f"{size}: the page scrolls sideways by {sideways} px: {shown}")
        driver.save_screenshot(f"{shots}/form-with-name-box-{size}.png")
        print(f"{size}: {len(shown)} crops, widths {[n for n, _ in shown]}")
    problems += [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
finally:
    driver.quit()
if problems:
    sys.exit("\n".join(problems))
