"""The office's day in a real browser: Debian's headless Chromium, driven by
chromedriver through Selenium. Called by tests/serve.rs with a running
`aup serve`; exits non-zero, saying what the page showed, on any failure.

usage: office_in_chromium.py URL SIGNED_SCAN ASSIGN_TO_NAME ASSIGN_PAGE CSV_OUT SHOTS_DIR UNSIGNED_FORM
"""

import json
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

url, signed_scan, assign_name, assign_page, csv_out, shots, unsigned_form = sys.argv[1:8]
url = url.rstrip("/")


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1200,1400",
    ]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def fail(driver, what):
    body = driver.find_element(By.TAG_NAME, "body").text[:3000]
    print(f"FAILED: {what}\nat {driver.current_url}\npage:\n{body}", file=sys.stderr)
    driver.save_screenshot(f"{shots}/failure.png")
    driver.quit()
    sys.exit(1)


def wait_for(driver, what, condition, seconds=90):
    try:
        return WebDriverWait(
            driver, seconds, poll_frequency=0.25, ignored_exceptions=(WebDriverException,)
        ).until(lambda d: condition(d))
    except TimeoutException:
        fail(driver, f"waited {seconds} s for {what}")


def heading(driver):
    """The page's h1, or "" while a new page is loading."""
    try:
        return " ".join(h.text for h in driver.find_elements(By.TAG_NAME, "h1"))
    except WebDriverException:
        return ""


def sign_in(driver, name, password):
    driver.delete_all_cookies()
    driver.get(url + "/")
    if "/login" not in driver.current_url:
        fail(driver, "an anonymous visit was not sent to the sign-in page")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(driver, "the overview after signing in", lambda d: d.find_elements(By.CSS_SELECTOR, "header .who"))


def console_errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


SIDEWAYS = """
const wide = [];
for (const node of document.querySelectorAll('table, .table-wrap, main, header')) {
    if (node.scrollWidth > node.clientWidth + 1) { wide.push(node.tagName + '.' + node.className + ' ' + (node.scrollWidth - node.clientWidth) + ' px'); }
    const right = node.getBoundingClientRect().right;
    if (right > window.innerWidth + 1) { wide.push(node.tagName + '.' + node.className + ' ends at ' + right); }
}
return {page: document.documentElement.scrollWidth - window.innerWidth, wide: wide,
        header: document.querySelector('header') ? document.querySelector('header').offsetHeight : 0};
"""


def photograph(driver, name, path, ready):
    """The page at `path` on a desktop and on a 390 px phone: photographed both
    ways, and on the phone nothing may scroll sideways and the menu is one line."""
    for size, (width, height) in [("desktop", (1200, 1400)), ("phone", (390, 844))]:
        driver.set_window_size(width, height)
        driver.get(url + path)
        wait_for(driver, f"{name} on a {size}", lambda d: d.find_elements(By.CSS_SELECTOR, ready))
        driver.save_screenshot(f"{shots}/{name}-{size}.png")
        if size == "phone":
            seen = driver.execute_script(SIDEWAYS)
            if seen["page"] > 0 or seen["wide"]:
                fail(driver, f"{name} scrolls sideways on a phone: {seen}")
            if seen["header"] > 64:
                fail(driver, f"{name}: the menu takes {seen['header']} px on a phone")
    driver.set_window_size(1200, 1400)


driver = browser()
try:
    sign_in(driver, "office", "office password 1")

    # Upload a signed scan; its verdict appears without a reload.
    driver.get(url + "/upload")
    driver.execute_script("window.notReloaded = true;")
    driver.find_element(By.ID, "file").send_keys(signed_scan)
    driver.find_element(By.ID, "send").click()
    accepted = '#uploads [data-state="filed"] [data-verdict="accepted"]'
    wait_for(driver, "the upload's verdict on the page", lambda d: d.find_elements(By.CSS_SELECTOR, accepted))
    if not driver.execute_script("return window.notReloaded === true;"):
        fail(driver, "the page reloaded to show the result")
    filed = driver.find_element(By.CSS_SELECTOR, '#uploads [data-state="filed"]').text
    form_link = driver.find_element(By.CSS_SELECTOR, '#uploads [data-state="filed"] a[href^="/form/"]')
    form_href = form_link.get_attribute("href")
    print(f"upload shown: {filed!r}")

    # After a reload the result is still there: it comes from the index.
    driver.refresh()
    wait_for(driver, "the result after a reload", lambda d: d.find_elements(By.CSS_SELECTOR, accepted))

    # The person's page, and the evidence PDF it links to.
    driver.get(form_href)
    page = driver.find_element(By.TAG_NAME, "main").text
    if "accepted" not in page:
        fail(driver, "the person's page does not show the accepted return")
    errors = console_errors(driver)
    if errors:
        fail(driver, f"console errors: {errors}")
    evidence = driver.find_element(By.ID, "evidence").get_attribute("href")
    fetched = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        fetch(arguments[0]).then(async r => {
            const bytes = new Uint8Array(await r.arrayBuffer());
            done({status: r.status, type: r.headers.get('content-type'),
                  disposition: r.headers.get('content-disposition'),
                  head: String.fromCharCode(...bytes.slice(0, 5)), size: bytes.length});
        }).catch(e => done({error: String(e)}));
        """,
        evidence,
    )
    if fetched.get("status") != 200 or fetched.get("type") != "application/pdf" or fetched.get("head") != "%PDF-":
        fail(driver, f"the evidence page is not served as a PDF: {fetched}")
    if not (fetched.get("disposition") or "").startswith("inline"):
        fail(driver, f"the evidence PDF would not open in the browser: {fetched}")
    # Opened in the browser's own viewer (Chromium's PDF plugin page).
    driver.get(evidence)
    time.sleep(1)
    console_errors(driver)  # the PDF viewer's own messages are not ours
    print(f"evidence: {fetched}")

    # The overview and the school year, photographed.
    driver.get(url + "/")
    wait_for(driver, "the overview's school cards", lambda d: d.find_elements(By.CSS_SELECTOR, "section.card progress"))
    driver.save_screenshot(f"{shots}/overview.png")
    school_link = driver.find_element(By.CSS_SELECTOR, "section.card h2 a").get_attribute("href")
    driver.get(school_link)
    wait_for(driver, "the roster", lambda d: d.find_elements(By.CSS_SELECTOR, "#roster tbody tr"))
    driver.save_screenshot(f"{shots}/school-year.png")
    # On a phone: nothing wider than the screen, the table scrolls in its box.
    driver.set_window_size(390, 844)
    driver.refresh()
    wait_for(driver, "the roster on a phone", lambda d: d.find_elements(By.CSS_SELECTOR, "#roster tbody tr"))
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth;")
    if overflow > 0:
        fail(driver, f"the school-year page is {overflow} px wider than a phone's screen")
    driver.save_screenshot(f"{shots}/school-year-phone.png")
    driver.set_window_size(1200, 1400)

    # The quarantined page: found by name, assigned, and the form accepted.
    driver.get(url + "/quarantine")
    entries = driver.find_elements(By.CSS_SELECTOR, "li[data-entry]")
    if not entries:
        fail(driver, "no quarantined page is listed")
    thumbs = driver.execute_script(
        "return Array.from(document.querySelectorAll('img.thumb')).map(i => i.complete && i.naturalWidth);"
    )
    if not thumbs or not all(thumbs):
        fail(driver, f"a quarantine thumbnail did not load: {thumbs}")
    driver.save_screenshot(f"{shots}/quarantine.png")
    entries[0].find_element(By.CSS_SELECTOR, "a").click()
    search = driver.find_element(By.ID, "person-search")
    search.send_keys(assign_name)
    search.submit()
    wait_for(driver, "the people found", lambda d: d.find_elements(By.CSS_SELECTOR, "#assign input[type=radio]"))
    page_box = driver.find_element(By.ID, "page")
    page_box.clear()
    page_box.send_keys(assign_page)
    driver.find_element(By.CSS_SELECTOR, "#assign button[type=submit]").click()
    wait_for(driver, "the assignment's result", lambda d: "Filed as page" in heading(d))
    result = driver.find_element(By.TAG_NAME, "main").text
    if ": accepted" not in result:
        fail(driver, "the form did not become accepted")
    print(f"assigned: {result!r}")
    driver.find_element(By.PARTIAL_LINK_TEXT, "Form ").click()
    if "accepted" not in driver.find_element(By.TAG_NAME, "main").text:
        fail(driver, "the form's page does not show it accepted")

    # The school year's CSV, as the browser downloads it.
    driver.get(school_link)
    csv_href = driver.find_element(By.PARTIAL_LINK_TEXT, "Download CSV").get_attribute("href")
    csv = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        fetch(arguments[0]).then(r => r.arrayBuffer())
          .then(b => done(Array.from(new Uint8Array(b)))).catch(e => done('ERROR ' + e));
        """,
        csv_href,
    )
    if isinstance(csv, str):
        fail(driver, f"the CSV did not download: {csv}")
    with open(csv_out, "wb") as out:
        out.write(bytes(csv))

    errors = console_errors(driver)
    if errors:
        fail(driver, f"console errors: {errors}")

    # Every page the office reads, on a desktop and on a phone.
    photograph(driver, "overview", "/", "section.card progress")
    photograph(driver, "school-year", school_link[len(url):], "#roster tbody tr")
    photograph(driver, "chase-list", school_link[len(url):] + "/chase", "table tbody tr")
    photograph(driver, "quarantine", "/quarantine?all=1", "li[data-entry]")
    entry = driver.find_element(By.CSS_SELECTOR, "li[data-entry] a").get_attribute("href")
    photograph(driver, "quarantine-entry", entry[len(url):], "main .card")
    photograph(driver, "person", form_href[len(url):], "main table")
    photograph(driver, "upload", "/upload", "#uploads li")
    for size, (width, height) in [("desktop", (1200, 1400)), ("phone", (390, 844))]:
        driver.set_window_size(width, height)
        driver.get(url + "/check")
        driver.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(unsigned_form)
        driver.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
        wait_for(driver, "the check's report", lambda d: d.find_elements(By.ID, "report"))
        driver.save_screenshot(f"{shots}/check-{size}.png")
        report = driver.find_element(By.ID, "report").text
        if report.lower().count("missing:") > 1:
            fail(driver, f"the report says what is missing twice: {report}")
        if size == "phone":
            seen = driver.execute_script(SIDEWAYS)
            if seen["page"] > 0 or seen["wide"]:
                fail(driver, f"check-a-PDF scrolls sideways on a phone: {seen}")
    driver.set_window_size(1200, 1400)

    # A viewer sees the quarantine but cannot reach the assign action.
    sign_in(driver, "viewer", "viewer password 1")
    driver.get(url + "/quarantine?all=1")
    driver.find_elements(By.CSS_SELECTOR, "li[data-entry] a")[0].click()
    if driver.find_elements(By.ID, "assign") or driver.find_elements(By.ID, "person-search"):
        fail(driver, "a viewer is offered the assign action")
    entry_path = driver.execute_script("return location.pathname;")
    refused = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const token = document.querySelector('header input[name=csrf]').value;
        fetch(arguments[0] + '/assign', {method: 'POST',
            headers: {'Content-Type': 'application/x-www-form-urlencoded'},
            body: 'csrf=' + token + '&form_id=PAK-2526-0001-L&page=1'})
          .then(r => done(r.status)).catch(e => done(String(e)));
        """,
        entry_path,
    )
    if refused != 403:
        fail(driver, f"a viewer's assign request was answered {refused}, not 403")
    if driver.find_elements(By.LINK_TEXT, "Drop scans"):
        fail(driver, "a viewer is offered uploads")
    print(json.dumps({"ok": True}))
finally:
    driver.quit()
