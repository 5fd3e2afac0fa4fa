# SPDX-License-Identifier: MIT — crmpubsub
"""Three people look at contacts A, B and C in three windows of a real
headless chromium while interactions change through the API, through A's
form, from another writer, and while the daemon restarts. Each step is
checked on what the pages show, every wait is bounded, and no page ever
reloads: each window carries a marker variable set once at the start,
checked after every step."""

import secrets
import sqlite3
import subprocess
import time

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

import crmtest
from conftest import SHOTS
from feedweb.store import utc_stamp

PUSH_WITHIN = 2.0	# a write shows on the pages it concerns within this
RESYNC_WITHIN = 5.0	# after the daemon is back, every page shows the truth
WAIT = 10.0		# bound of a wait for what the browser does itself
MARKER = secrets.token_hex(8)

FEED_UUIDS = """return [...document.querySelectorAll(
  '#feed [data-interaction-uuid]')].map((e) => e.dataset.interactionUuid);"""


class World:
    """The contacts, their windows and the interactions made so far."""
    contacts = {}	# "A" -> uuid
    windows = {}	# "A" -> window handle
    made = {}		# "I" -> interaction uuid


W = World()


def look(browser, who: str):
    """Switches to who's window."""
    browser.switch_to.window(W.windows[who])
    return browser


def feed(browser, who: str) -> list:
    """The interaction UUIDs who's page shows, top to bottom."""
    return look(browser, who).execute_script(FEED_UUIDS)


def updated_at(browser, who: str) -> float:
    """When who's feed was last swapped in (page clock, seconds; 0: never)."""
    v = look(browser, who).execute_script(
        "return document.getElementById('feed').dataset.updatedAt || '0'")
    return int(v) / 1000.0


def indicator(browser, who: str) -> str:
    return look(browser, who).find_element(By.ID, "live").get_attribute(
        "data-state")


def wait_page(browser, who: str, check, what: str, timeout: float = WAIT):
    """Waits (bounded) until check(browser) holds on who's page."""
    look(browser, who)
    try:
        WebDriverWait(browser, timeout, poll_frequency=0.05).until(check)
    except TimeoutException:
        pytest.fail(f"{who}'s page: {what} not seen within {timeout} s; "
                    f"it shows {feed(browser, who)}, indicator "
                    f"{indicator(browser, who)}")


def shows(browser, who: str, iu: str, present: bool = True,
          timeout: float = WAIT) -> None:
    """Waits until who's page shows (or no longer shows) interaction iu."""
    wait_page(browser, who, lambda d: (iu in d.execute_script(FEED_UUIDS))
              == present, f"{iu} {'shown' if present else 'gone'}", timeout)


def no_reload(browser) -> None:
    """Every window still carries its marker: no page was reloaded."""
    for who in W.windows:
        assert look(browser, who).execute_script(
            "return window.feedWebMarker") == f"{MARKER}-{who}", \
            f"{who}'s page was reloaded"


def shot(browser, who: str, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    look(browser, who).save_screenshot(str(SHOTS / f"{name}.png"))


def test_1_open_three_contacts(browser, app):
    names = {"A": "Ada Lovelace", "B": "Grace Hopper", "C": "Alan Turing"}
    for who, name in names.items():
        W.contacts[who] = app.http.contact(name)
    W.contacts["D"] = app.http.contact("Katherine Johnson")
    for who in "ABC":
        if W.windows:
            browser.switch_to.new_window("window")
        W.windows[who] = browser.current_window_handle
        browser.get(f"{app.url}/contacts/{W.contacts[who]}")
        browser.execute_script(f"window.feedWebMarker = '{MARKER}-{who}'")
    for who in "ABC":
        wait_page(browser, who, lambda d: d.find_element(By.ID, "live")
                  .get_attribute("data-state") == "live", "indicator live")
        # the refetch every opening of the stream makes is done
        wait_page(browser, who, lambda d: updated_at(d, who) > 0,
                  "the first refetch")
        assert feed(browser, who) == []
        assert browser.find_element(By.TAG_NAME, "h1").text == names[who]
    no_reload(browser)


def test_2_create_shows_on_subject_and_party(browser, app):
    a, b, c = (W.contacts[x] for x in "ABC")
    before_c = updated_at(browser, "C")
    t0 = time.time()
    W.made["I"] = iu = app.http.interaction(a, "Kick-off call", [b],
                                            ["Sam (Initech)"])
    for who in "AB":
        shows(browser, who, iu)
        took = updated_at(browser, who) - t0
        assert took < PUSH_WITHIN, f"{who}'s page took {took:.2f} s"
    assert feed(browser, "C") == [] and updated_at(browser, "C") == before_c
    look(browser, "B")
    item = browser.find_element(By.CSS_SELECTOR,
                                f'[data-interaction-uuid="{iu}"]')
    assert "Kick-off call" in item.text and "Sam (Initech)" in item.text
    assert "Party" in item.text.title()
    no_reload(browser)


def test_3_edit_moves_it_from_b_to_c(browser, app):
    iu = W.made["I"]
    a, c = W.contacts["A"], W.contacts["C"]
    app.http.interaction(a, "Kick-off call", [c], method="PUT", uuid=iu)
    shows(browser, "B", iu, present=False)
    shows(browser, "C", iu)
    assert iu in feed(browser, "A")
    no_reload(browser)


def test_4_form_on_a_adds_with_a_chosen_party(browser, app):
    look(browser, "A")
    form = browser.find_element(By.ID, "add-interaction")
    form.find_element(By.NAME, "subject").send_keys("Demo of the live feed")
    form.find_element(By.CSS_SELECTOR,
                      f'input[name=party][value="{W.contacts["B"]}"]').click()
    form.find_element(By.NAME, "others").send_keys("Pat, from Acme")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_page(browser, "A", lambda d: len(d.execute_script(FEED_UUIDS)) == 2
              and "Demo of the live feed" in d.find_element(By.ID, "feed").text,
              "the new interaction")
    new = feed(browser, "A")[0]		# newest first
    W.made["F"] = new
    shows(browser, "B", new)
    assert new not in feed(browser, "C")
    doc = app.http.json("GET", f"/api/interactions/{new}", expect=200)
    assert [(p["contact_uuid"], p["raw_name"]) for p in doc["parties"]] == \
        [(W.contacts["B"], "Grace Hopper"), (None, "Pat"), (None, "from Acme")]
    look(browser, "A")
    assert browser.find_element(By.NAME, "subject").get_attribute("value") == ""
    shot(browser, "B", "step4-party-page")
    no_reload(browser)


def test_5_delete_removes_it_everywhere(browser, app):
    iu = W.made["I"]
    app.http.json("DELETE", f"/api/interactions/{iu}", expect=200)
    shows(browser, "A", iu, present=False)
    shows(browser, "C", iu, present=False)
    assert feed(browser, "A") == [W.made["F"]]
    no_reload(browser)


def test_6_daemon_restart_resync(browser, app, daemon):
    """The daemon stops; the app's write succeeds (the library holds its
    broadcast and sends it on reconnection), and another program's write
    is announced while the daemon is away, so that announcement is lost:
    C's page learns of it only through reconnect -> resync -> refetch."""
    a, b, c = (W.contacts[x] for x in "ABC")
    daemon.stop()
    for who in "ABC":
        wait_page(browser, who, lambda d: d.find_element(By.ID, "live")
                  .get_attribute("data-state") == "reconnecting",
                  "indicator reconnecting")
    shot(browser, "A", "step6-reconnecting")
    W.made["J"] = j = app.http.interaction(b, "Written while the daemon "
                                           "was down", [a])
    k = crmtest.uuid_n(0xe6)
    insert(app, k, c, "Renewal signed (billing system)", [])
    w = writer(daemon, "interaction_created", k, c)
    assert w.returncode != 0, "the daemon is away: no acknowledgement"
    for who, iu in (("A", j), ("B", j), ("C", k)):
        assert iu not in feed(browser, who)
    daemon.start()
    t0 = time.monotonic()
    for who, iu in (("A", j), ("B", j), ("C", k)):
        left = RESYNC_WITHIN - (time.monotonic() - t0)
        shows(browser, who, iu, timeout=max(left, 0.1))
    for who in "ABC":
        wait_page(browser, who, lambda d: d.find_element(By.ID, "live")
                  .get_attribute("data-state") == "live", "indicator live",
                  timeout=RESYNC_WITHIN)
    no_reload(browser)


def insert(app, iu, subject, text, parties):
    """Writes an interaction (occurred now) straight into the app's
    database, as a program other than the app would."""
    argv = app.peer.argv
    with sqlite3.connect(argv[argv.index("--db") + 1]) as db:
        db.execute("INSERT INTO interactions VALUES (?, ?, ?, ?)",
                   (iu, subject, text, utc_stamp()))
        db.executemany("INSERT INTO interaction_parties VALUES (?, ?, ?)",
                       [(iu, cu, name) for cu, name in parties])


def writer(daemon, event, iu, subject, *parties):
    """The C example writer, announcing a change (bounded)."""
    return subprocess.run(
        [str(crmtest.build_dir() / "client/examples/writer"), "-s",
         daemon.sock, event, iu, subject, *parties],
        capture_output=True, text=True, timeout=WAIT)


def test_7_another_writer_refreshes_the_pages(browser, app, daemon):
    """A program that is not the app writes the database and tells the
    daemon with the C example writer."""
    a, c = W.contacts["A"], W.contacts["C"]
    iu = crmtest.uuid_n(0xe7)
    insert(app, iu, a, "Invoice sent (billing system)", [(c, "Alan Turing")])
    w = writer(daemon, "interaction_created", iu, a, c)
    assert w.returncode == 0, w.stderr
    shows(browser, "A", iu)
    shows(browser, "C", iu)
    assert iu not in feed(browser, "B")
    no_reload(browser)
    shot(browser, "A", "step7-contact-a")
