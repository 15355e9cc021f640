"""The built site in a real browser: it loads cleanly, search works, pages show what they should.

Screenshots are saved under the test run's tmp folder and, if $HUBZOO_TEST_OUTPUT is set, copied
there too.
"""

import os
import shutil
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.site.browser import CHROMEDRIVER, CHROMIUM, chromium, serve_folder
from tests.site.conftest import SITE_MODULES, SYNTHETIC_HANDLE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason=f"{CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)",
    ),
]
WAIT_SECONDS = 30


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def browser(site_dir):
    with serve_folder(site_dir) as base_url, chromium() as driver:
        driver.base_url = base_url
        yield driver


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
    usage = article.find_element(By.CSS_SELECTOR, "pre")
    browser.execute_script("arguments[0].scrollIntoView()", usage)
    save_screenshot(browser, screenshots, "model_page_usage")
    assert console_errors(browser) == []


def test_architecture_index_lists_the_modules(browser, screenshots, site_dir):
    browser.get(browser.base_url + "browse/architecture/")
    article = wait_for(
        browser, expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, "article"))
    )
    headings = [h.text.strip("¶ \n") for h in article.find_elements(By.CSS_SELECTOR, "h2")]
    assert headings == ["Inception ResNet V2", "Inception V1", "Inception V2", "MobileNet V3"]
    listed = {a.text for a in article.find_elements(By.CSS_SELECTOR, "td a")}
    assert "google/imagenet/inception_v1/classification/1" in listed
    assert listed == set(SITE_MODULES)
    save_screenshot(browser, screenshots, "architecture_index")
    browser.get(browser.base_url + "compare/")
    wait_for(browser, expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, "table")))
    save_screenshot(browser, screenshots, "compare")
    assert console_errors(browser) == []
