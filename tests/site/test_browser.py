"""The built site in a real browser, served with the store by the zoo's own server: it loads
cleanly, search works, tables sort and filter, pages show what they should.

Screenshots are saved under the test run's tmp folder and, if $HUBZOO_TEST_OUTPUT is set, copied
there too.
"""

import hashlib
import os
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from hubzoo.serve import serve
from hubzoo.store import open_store
from tests.site.browser import CHROMEDRIVER, CHROMIUM, chromium
from tests.site.conftest import DEPLOYMENT_HANDLE, SITE_MODULES, SYNTHETIC_HANDLE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason=f"{CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)",
    ),
]
WAIT_SECONDS = 30
ZOO_URL = "http://127.0.0.1:8000/"
"""mkdocs.yml's zoo URL, which the test site's links name; the test server has its own port."""


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def browser(site_dir, store_dir):
    """Chromium, and the site and store served by `hubzoo.serve` at `browser.base_url`."""
    server = serve(open_store(str(store_dir), read_only=True), site_dir, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with chromium() as driver:
            driver.base_url = f"http://127.0.0.1:{server.server_address[1]}/"
            yield driver
    finally:
        server.shutdown()
        server.server_close()


def save_screenshot(driver, folder: Path, name: str) -> Path:
    """Save a PNG of the window to `folder` and to $HUBZOO_TEST_OUTPUT when set."""
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"screenshot {name} failed"
    output = os.environ.get("HUBZOO_TEST_OUTPUT")
    if output:
        Path(output).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(output) / path.name)
    return path


def console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def visible_rows(table) -> list:
    return [row for row in table.find_elements(By.CSS_SELECTOR, "tbody tr") if row.is_displayed()]


def column(table, index: int) -> list[str]:
    return [row.find_elements(By.TAG_NAME, "td")[index].text for row in visible_rows(table)]


def wait_for(driver, condition):
    return WebDriverWait(driver, WAIT_SECONDS).until(condition)


def test_home_page_loads_without_console_errors(browser, screenshots):
    browser.get(browser.base_url)
    wait_for(browser, expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "h1")))
    assert browser.find_element(By.CSS_SELECTOR, "article h1").text == "hubzoo"
    assert "Load a module" in browser.find_element(By.CSS_SELECTOR, "article").text
    save_screenshot(browser, screenshots, "home")
    assert console_errors(browser) == []


def test_search_finds_inception_resnet_v2(browser, screenshots):
    browser.get(browser.base_url)
    box = wait_for(
        browser,
        expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, "input.md-search__input")),
    )
    box.click()
    box.send_keys("inception_resnet_v2")
    wait_for(
        browser,
        lambda driver: (
            "inception_resnet_v2" in driver.find_element(By.CSS_SELECTOR, ".md-search-result").text
        ),
    )
    results = browser.find_elements(By.CSS_SELECTOR, ".md-search-result__item")
    links = [r.find_element(By.TAG_NAME, "a").get_attribute("href") for r in results]
    assert any("/modules/google/imagenet/inception_resnet_v2/" in link for link in links), links
    save_screenshot(browser, screenshots, "search_inception_resnet_v2")
    assert console_errors(browser) == []


def test_model_page_shows_usage_snippet_and_artifact_facts(browser, screenshots):
    browser.get(browser.base_url + f"modules/{SYNTHETIC_HANDLE}/")
    article = wait_for(
        browser, expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, "article"))
    )
    code = [block.text for block in article.find_elements(By.CSS_SELECTOR, "pre code")]
    assert any(
        "features = module(images)  # Features with shape [batch_size, num_features]." in c
        for c in code
    ), code
    danger = article.find_element(By.CSS_SELECTOR, ".admonition.danger")
    assert danger.is_displayed() and "SYNTHETIC" in danger.text
    save_screenshot(browser, screenshots, "model_page")
    zoo = article.find_element(By.ID, "use-it-from-this-zoo")
    browser.execute_script("arguments[0].scrollIntoView()", zoo)
    url = f"{ZOO_URL}{SYNTHETIC_HANDLE}.tar.gz"
    shown = [
        block for block in article.find_elements(By.CSS_SELECTOR, "pre") if block.is_displayed()
    ]
    assert "module = hub.load(url)" in shown[0].text and url in shown[0].text
    save_screenshot(browser, screenshots, "model_page_use_it")
    article.find_element(By.XPATH, "//label[normalize-space()='hub.KerasLayer']").click()
    shown = [
        block for block in article.find_elements(By.CSS_SELECTOR, "pre") if block.is_displayed()
    ]
    assert 'hub.KerasLayer(url, signature="image_feature_vector"' in shown[0].text
    versions = article.find_element(By.ID, "versions")
    browser.execute_script("arguments[0].scrollIntoView()", versions)
    save_screenshot(browser, screenshots, "model_page_versions_deployments")
    assert console_errors(browser) == []


def test_deployment_download_link_serves_its_archive(browser, store_dir):
    """The parent's page links the deployment's archive at the zoo URL; the zoo's server answers
    that path with the archive whose sha256 the link's title states."""
    browser.get(browser.base_url + f"modules/{SYNTHETIC_HANDLE}/")
    link = wait_for(
        browser,
        expected_conditions.presence_of_element_located((By.LINK_TEXT, "download")),
    )
    href = link.get_attribute("href")
    assert href == f"{ZOO_URL}{DEPLOYMENT_HANDLE}.tar.gz"
    with urllib.request.urlopen(href.replace(ZOO_URL, browser.base_url), timeout=30) as response:
        body = response.read()
    assert link.get_attribute("title") == f"sha256 {hashlib.sha256(body).hexdigest()}"


def test_architecture_index_lists_the_modules(browser, screenshots, site_dir):
    browser.get(browser.base_url + "browse/architecture/")
    article = wait_for(
        browser, expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, "article"))
    )
    headings = [h.text.strip("¶ \n") for h in article.find_elements(By.CSS_SELECTOR, "h2")]
    assert headings == ["Inception ResNet V2", "Inception V1", "Inception V2", "MobileNet V3"]
    links = article.find_elements(By.CSS_SELECTOR, "td:first-child a")
    assert {a.get_attribute("title") for a in links} == set(SITE_MODULES)
    assert "inception_v1" in {a.text for a in links}
    save_screenshot(browser, screenshots, "architecture_index")
    assert console_errors(browser) == []


def test_compare_table_fits_sorts_and_filters(browser, screenshots):
    browser.get(browser.base_url + "compare/")
    table = wait_for(
        browser, expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, "table"))
    )
    wrap = table.find_element(By.XPATH, "ancestor::div[@class='md-typeset__scrollwrap']")
    width, room = browser.execute_script(
        "return [arguments[0].scrollWidth, arguments[0].clientWidth]", wrap
    )
    assert width <= room, f"the table needs {width} px, the page has {room}"
    save_screenshot(browser, screenshots, "compare")
    headings = table.find_elements(By.CSS_SELECTOR, "thead th")
    names = [heading.text.strip() for heading in headings]
    params = names.index("Params")
    headings[params].click()
    values = column(table, params)
    numbers = [float(v.removesuffix(" M")) for v in values if v != "—"]
    assert numbers == sorted(numbers) and values[len(numbers) :] == ["—"] * (
        len(values) - len(numbers)
    )
    headings[params].click()
    numbers = [float(v.removesuffix(" M")) for v in column(table, params) if v != "—"]
    assert numbers == sorted(numbers, reverse=True)
    tools = browser.find_element(By.CSS_SELECTOR, ".hz-table-tools")
    tools.find_element(By.CSS_SELECTOR, "input").send_keys("inception_v2 classification")
    assert column(table, 0) == ["inception_v2", "inception_v2"]
    assert tools.find_element(By.CSS_SELECTOR, ".hz-table-count").text == (
        f"2 of {len(SITE_MODULES)} rows"
    )
    tools.find_element(By.CSS_SELECTOR, "input").clear()
    status = tools.find_element(By.CSS_SELECTOR, "select[aria-label='Status']")
    status.find_element(By.XPATH, "option[normalize-space()='Status: synthetic']").click()
    assert column(table, 0) == ["inception_v1"]
    assert column(table, names.index("Status")) == ["synthetic"]
    save_screenshot(browser, screenshots, "compare_filtered")
    assert console_errors(browser) == []


def test_family_page_and_menu(browser, screenshots):
    browser.get(browser.base_url + "families/inception_v2/")
    article = wait_for(
        browser, expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, "article"))
    )
    assert article.find_element(By.TAG_NAME, "h1").text.strip("¶ \n") == "Inception V2"
    menu = browser.find_elements(By.CSS_SELECTOR, ".md-nav--primary .md-nav__link")
    labels = {link.text.strip() for link in menu if link.is_displayed()}
    assert {"Inception ResNet V2", "Inception V1", "Inception V2", "MobileNet V3"} <= labels
    table = article.find_element(By.TAG_NAME, "table")
    assert sorted(column(table, 2)) == ["1", "1", "3 latest", "3 latest"]
    save_screenshot(browser, screenshots, "family_page")
    assert console_errors(browser) == []


def test_unknown_path_gets_the_sites_404_page(browser, screenshots):
    browser.get(browser.base_url + "no/such/page/")
    heading = wait_for(
        browser, expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, "article h1"))
    )
    assert heading.text == "Page not found"
    article = browser.find_element(By.CSS_SELECTOR, "article")
    assert "There is no page at /no/such/page/" in article.text
    article.find_element(By.LINK_TEXT, "Compare modules").click()
    wait_for(browser, expected_conditions.url_to_be(browser.base_url + "compare/"))
    browser.back()
    save_screenshot(browser, screenshots, "not_found")
    errors = [
        e for e in console_errors(browser) if "/no/such/page/ - Failed to load resource" not in e
    ]
    assert errors == []
