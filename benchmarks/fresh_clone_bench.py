"""A newcomer's first minutes: fresh clone → `make run` → signed in → coverage map drawn, in Chromium.

Clones the committed HEAD into a temporary folder and runs `make run` there as the README says,
with pip's cache off (every package downloaded, as on a new machine), a configuration directory of
its own (so the dev key is made anew) and free ports. Headless Chromium (Debian's chromium and
chromedriver) signs in as the administrator and waits until the coverage map is drawn. Records the
time of each step since the clone began. Writes its section of docs/benchmarks.md.

    .venv/bin/python benchmarks/fresh_clone_bench.py [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import machine, today, write_section  # noqa: E402
from benchmarks.admin_sign_in_bench import browser  # noqa: E402
from benchmarks.limits_bench import free_port  # noqa: E402
from tests.ui_support import stop_group  # noqa: E402

TARGET_SECONDS = 180
MAP = '[data-testid="stPlotlyChart"] .main-svg, [data-testid="stDeckGlJsonChart"] canvas'


def wait_until(check, process: subprocess.Popen, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"`make run` exited with {process.returncode} before {what}")
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{what}: not within {seconds:.0f} s")


def measure(folder: Path) -> list[tuple[str, float]]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    api_port, ui_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SANJI_", "VIRTUAL_ENV", "PYTHONPATH"))
    }
    env |= {
        "PIP_NO_CACHE_DIR": "1",
        "XDG_CONFIG_HOME": str(folder / "config"),
        "SANJI_API_PORT": str(api_port),
        "SANJI_UI_PORT": str(ui_port),
    }
    steps: list[tuple[str, float]] = []
    start = time.monotonic()

    def step(name: str) -> None:
        steps.append((name, time.monotonic() - start))
        print(f"{steps[-1][1]:7.1f} s  {name}", flush=True)

    clone = folder / "sanji"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    step("cloned")
    process = subprocess.Popen(
        ["make", "run"],
        cwd=clone,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        stamp = clone / ".venv" / ".installed-run"
        wait_until(stamp.exists, process, 900, "installed")
        step("installed (venv and packages)")
        api, ui = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ui_port}"
        wait_until(lambda: httpx.get(f"{api}/healthz", timeout=2).status_code == 200, process, 300, "API up")
        step("migrated, fixture loaded, API answering")
        wait_until(
            lambda: httpx.get(f"{ui}/_stcore/health", timeout=2).status_code == 200, process, 120, "UI up"
        )
        step("admin UI answering")
        driver = browser()
        try:
            wait = WebDriverWait(driver, 120)
            driver.get(ui)
            wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, 'input[aria-label="用户名"]')))
            step("sign-in page shown")
            driver.find_element(By.CSS_SELECTOR, 'input[aria-label="用户名"]').send_keys("admin")
            driver.find_element(By.CSS_SELECTOR, 'input[aria-label="密码"]').send_keys("sanji-demo")
            driver.find_element(By.CSS_SELECTOR, '[data-testid="stFormSubmitButton"] button').click()
            wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, MAP)))
            step("coverage map drawn")
        finally:
            driver.quit()
    finally:
        stop_group(process)
    return steps


def write_report(steps: list[tuple[str, float]]) -> None:
    total = steps[-1][1]
    verdict = "met" if total <= TARGET_SECONDS else f"missed by {total - TARGET_SECONDS:.0f} s"
    lines = [
        "## A fresh clone to a drawn coverage map",
        "",
        "The committed HEAD cloned into an empty folder, then `make run` as the README says, with pip's",
        "cache off (every package downloaded from the registry) and a new configuration directory;",
        "headless Chromium signs in as the administrator and waits for the coverage map. Times are",
        "since the clone began. The packages come from the machine's package registry; a slower link",
        "to the registry lengthens the install step by its download time.",
        f"Target: under {TARGET_SECONDS // 60} minutes ({verdict}).",
        "",
        f"- date: {today()}",
        f"- machine: {machine()}",
        "- command: `python benchmarks/fresh_clone_bench.py`",
        "",
        "| step | seconds |",
        "|---|---:|",
        *(f"| {name} | {seconds:.1f} |" for name, seconds in steps),
    ]
    write_section("fresh-clone", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the clone's folder (for a look after)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sanji-fresh-"))
    try:
        steps = measure(folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    write_report(steps)


if __name__ == "__main__":
    main()
