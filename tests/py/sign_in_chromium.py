"""A person signs on their phone, in Debian's headless Chromium at 390 x 844:
opens their link, scrolls through the policy, ticks the declaration, signs and
submits. MODE `drawn` draws two strokes with a finger (touch pointer events);
`typed` types the name with JavaScript switched off. Prints what the pages
said; photographs go to SHOTS. Fails on a console error or sideways scrolling.
With JavaScript on, axe-core (tests/js/node_modules) checks the page against
WCAG 2.1 A and AA and the violations are printed ("axe: N violations").

A parent (PARENT and ANSWERS given) also writes their name and answers each
consent: ANSWERS is "id=yes,id=no,...".

usage: sign_in_chromium.py LINK MODE NAME SHOTS [PARENT ANSWERS]"""
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.actions import interaction
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.actions.pointer_input import PointerInput
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

link, mode, name, shots = sys.argv[1:5]
parent, answers = (sys.argv[5], sys.argv[6]) if len(sys.argv) > 6 else (None, "")
options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"):
    options.add_argument(flag)
options.add_experimental_option(
    "mobileEmulation",
    {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0, "touch": True}},
)
if mode == "typed":
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2}
    )
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
problems = []
try:
    driver.get(link)
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "sign"))
    if mode == "typed":
        # No JavaScript, so nothing that needs it (WebDriver's clicks and
        # scripts run in the page): the keyboard only, as a keyboard user signs.
        if driver.find_element(By.ID, "pad").is_displayed():
            problems.append("the signature pad shows without JavaScript")
        driver.find_element(By.CSS_SELECTOR, "input[name=declaration]").send_keys(Keys.SPACE)
        typed = driver.find_element(By.ID, "typed")
        typed.send_keys(name)
        driver.save_screenshot(f"{shots}/sign-{mode}-form.png")
        typed.send_keys(Keys.ENTER)
        WebDriverWait(driver, 60).until(lambda d: not d.find_elements(By.ID, "sign"))
    else:
        width = driver.execute_script("return window.innerWidth;")
        sideways = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth;")
        if sideways > 0:
            problems.append(f"the page scrolls sideways by {sideways} px at {width} px")
        driver.save_screenshot(f"{shots}/sign-{mode}-top.png")
        axe = os.path.join(os.path.dirname(__file__), "..", "js", "node_modules", "axe-core", "axe.min.js")
        driver.execute_script(open(axe, encoding="utf-8").read())
        result = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
            ".then(r => done([r.passes.length, r.violations.map(v => v.id + ': ' + v.help + ' (' + v.nodes.length + ')')]));"
        )
        passes, violations = result
        print(f"axe: {len(violations)} violations, {passes} rules passed")
        for violation in violations:
            print(f"  {violation}")
        # The typed field writes in the handwriting the PDF will show.
        typed = driver.find_element(By.ID, "typed")
        typed.send_keys(name)
        font = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "document.fonts.load('16px \"AUP Handwriting\"', 'A').then(f => done(f.length + ' '"
            " + getComputedStyle(document.getElementById('typed')).fontFamily));"
        )
        print(f"typed font: {font}")
        typed.clear()
        # Through the policy to the form.
        height = driver.execute_script("return document.documentElement.scrollHeight;")
        for y in range(0, height, 700):
            driver.execute_script(f"window.scrollTo(0, {y});")
        if parent:
            driver.find_element(By.ID, "parent_name").send_keys(parent)
            for pair in answers.split(","):
                consent, answer = pair.split("=")
                radio = driver.find_element(By.CSS_SELECTOR, f'input[name="consent_{consent}"][value="{answer}"]')
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", radio)
                radio.click()
            driver.save_screenshot(f"{shots}/sign-{mode}-consents.png")
        driver.find_element(By.CSS_SELECTOR, "input[name=declaration]").click()
        canvas = driver.find_element(By.ID, "pad-canvas")
        if not canvas.is_displayed():
            problems.append("the signature pad is not shown with JavaScript on")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", canvas)
        box = driver.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "return {x: r.left, y: r.top, width: r.width, height: r.height};",
            canvas,
        )
        finger = PointerInput(interaction.POINTER_TOUCH, "finger")
        actions = ActionBuilder(driver, mouse=finger)
        left, top = box["x"], box["y"]
        w, h = box["width"], box["height"]
        for stroke in (
            [(0.08 + 0.04 * i, 0.5 + (0.25 if i % 2 else -0.25)) for i in range(12)],
            [(0.65 + 0.02 * i, 0.3 + 0.04 * i) for i in range(10)],
        ):
            x, y = stroke[0]
            actions.pointer_action.move_to_location(int(left + x * w), int(top + y * h))
            actions.pointer_action.pointer_down()
            for x, y in stroke[1:]:
                actions.pointer_action.move_to_location(int(left + x * w), int(top + y * h))
            actions.pointer_action.pointer_up()
        actions.perform()
        drawn = driver.execute_script(
            "const c = document.getElementById('pad-canvas').getContext('2d');"
            "const d = c.getImageData(0, 0, 800, 200).data; let n = 0;"
            "for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } return n;"
        )
        print(f"pad ink pixels: {drawn}")
        driver.save_screenshot(f"{shots}/sign-{mode}-form.png")
        driver.find_element(By.CSS_SELECTOR, "button.primary").click()
        WebDriverWait(driver, 60).until(lambda d: not d.find_elements(By.ID, "sign"))
    print("after submit:", driver.find_element(By.TAG_NAME, "h1").text)
    print("said:", driver.find_element(By.CSS_SELECTOR, ".card p").text)
    downloads = driver.find_elements(By.CSS_SELECTOR, "a.button")
    print("download:", downloads[0].get_attribute("href") if downloads else "none")
    driver.save_screenshot(f"{shots}/sign-{mode}-done.png")
    driver.get(link)
    print("reopened:", driver.find_element(By.TAG_NAME, "h1").text)
    if mode != "typed":
        problems += [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
finally:
    driver.quit()
if problems:
    sys.exit("\n".join(problems))
