"""Locust users of ``bench/load.py`` (run by it; not a benchmark of its own).

Reads the plan ``bench/load.py`` wrote (``LOAD_PLAN``: a JSON file with each user's session
cookie, the products, domains and words). Every virtual user is one logged-in portal user, a
consumer and an approver of one team, and loops without think time over:

- 70 % search and browse: ranked search (``search``), the marketplace home and domain facet
  (``browse``), autocomplete as typed (``autocomplete``);
- 20 % product pages, every tab in turn (``product``);
- 10 % request and decide: the request form and its submission (``request``), the approvals inbox
  and an approval (``decide``), so the real worker provisions grants during the run.

A response other than the expected status is a failure (locust's ``errors``).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re

from locust import FastHttpUser, task

PLAN = json.loads(open(os.environ["LOAD_PLAN"]).read())  # noqa: SIM115
TABS = [
    "",
    "?tab=ports",
    "?tab=schema",
    "?tab=contract",
    "?tab=quality",
    "?tab=lineage",
    "?tab=consumers",
    "?tab=access",
    "?tab=activity",
]
_users = itertools.count()
REQUEST_LINK = re.compile(rb'href="/access/requests/(\d+)/"')
PORT_OPTION = re.compile(rb'name="output_port"[^>]*>\s*<option value="(\d+)"')
PURPOSE_OPTION = re.compile(rb'name="purpose_category"[^>]*>\s*<option value="(\d+)"')


class PortalUser(FastHttpUser):
    """One logged-in person: consumer of other teams' data products, approver of their own team's."""

    def on_start(self):
        me = PLAN["users"][next(_users) % len(PLAN["users"])]
        self.rnd = random.Random(me["username"])
        self.csrf = PLAN["csrf"]
        self.headers = {"Cookie": f"sessionid={me['session']}; csrftoken={self.csrf}"}
        # Products to request, in an order of their own: each at most once (one open request per port).
        self.to_request = [p for p in PLAN["requestable"] if p["team"] != me["team"]]
        self.rnd.shuffle(self.to_request)

    def _get(self, path, name, **kw):
        with self.client.get(
            path, headers={**self.headers, **kw.pop("headers", {})}, name=name, catch_response=True, **kw
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            return response

    def _post(self, path, name, data):
        with self.client.post(
            path,
            headers={**self.headers, "Content-Type": "application/x-www-form-urlencoded"},
            data=data,
            name=name,
            catch_response=True,
            allow_redirects=False,
        ) as response:
            if response.status_code != 302:
                response.failure(f"HTTP {response.status_code}")
            return response

    # 70 % search and browse
    @task(40)
    def search(self):
        self._get("/?q=" + self.rnd.choice(PLAN["words"]), "search")

    @task(20)
    def browse(self):
        if self.rnd.random() < 0.5:
            self._get("/", "browse")
        else:
            self._get("/?domain=" + self.rnd.choice(PLAN["domains"]), "browse")

    @task(10)
    def autocomplete(self):
        word = self.rnd.choice(PLAN["words"])
        self._get(
            "/search/suggest/?q=" + word[: self.rnd.randint(2, max(2, len(word)))],
            "autocomplete",
            headers={"HX-Request": "true"},
        )

    # 20 % product pages, all tabs
    @task(20)
    def product(self):
        self._get(f"/products/{self.rnd.choice(PLAN['products'])}/{self.rnd.choice(TABS)}", "product")

    # 10 % request and decide
    @task(5)
    def request(self):
        if not self.to_request:
            return self.search()
        product = self.to_request.pop()
        form = self._get(f"/access/products/{product['slug']}/request/", "request")
        port = PORT_OPTION.search(form.content or b"")
        purpose = PURPOSE_OPTION.search(form.content or b"")
        if not port:
            return None
        data = {
            "csrfmiddlewaretoken": self.csrf,
            "output_port": port.group(1).decode(),
            "purpose": "load test",
            "duration": "30",
            "accept_terms": "on",
        }
        if purpose:
            data["purpose_category"] = purpose.group(1).decode()
        return self._post(f"/access/products/{product['slug']}/request/", "request", data)

    @task(5)
    def decide(self):
        inbox = self._get("/access/inbox/", "decide")
        ids = REQUEST_LINK.findall(inbox.content or b"")
        if ids:
            pk = self.rnd.choice(ids).decode()
            with self.client.post(
                f"/access/requests/{pk}/approve/",
                name="decide",
                catch_response=True,
                headers={**self.headers, "Content-Type": "application/x-www-form-urlencoded"},
                data={"csrfmiddlewaretoken": self.csrf, "comment": "ok"},
                allow_redirects=False,
            ) as response:
                # Another approver may have decided it a moment earlier: that answers with a message, not an error.
                if response.status_code not in (302, 303):
                    response.failure(f"HTTP {response.status_code}")
