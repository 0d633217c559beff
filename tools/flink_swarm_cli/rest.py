"""A small client of Flink's REST API (stdlib only) that tells Flink's refusals from other answers.

Flink refuses with a JSON ErrorResponseBody, {"errors": [...]} (flink-runtime/src/main/java/org/
apache/flink/runtime/rest/messages/ErrorResponseBody.java): that is "Flink refused", in one line
(errors.summary), its full text kept for --verbose. Any other HTTP error (a proxy's HTML 502, a web
server that is not Flink) is said as what it is: the status, the content type and the first line.
"""
from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request

from .errors import Refused, summary


class FlinkRefused(Refused):
    """Flink's own refusal (an ErrorResponseBody): `status`, and its text in `trace`."""

    def __init__(self, message: str, trace: str, status: int):
        super().__init__(message, trace)
        self.status = status

TIMEOUT = 120  # seconds for one call (an upload of a large jar included)


def segment(value: str) -> str:
    """A path segment of a REST URL (a job id or jar id as given, quoted)."""
    return urllib.parse.quote(value, safe="")


def check_url(url: str) -> str:
    """The cluster's REST URL without a trailing slash; refused unless http(s)://host[:port]."""
    url = str(url).rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Refused(f"not an http(s) URL: {url!r} (give it like http://host:8081)")
    return url


def flink_errors(text: str) -> list[str] | None:
    """Flink's error texts when `text` is an ErrorResponseBody, else None."""
    try:
        answer = json.loads(text)
    except ValueError:
        return None
    if isinstance(answer, dict) and isinstance(answer.get("errors"), list) and answer["errors"]:
        return [str(e) for e in answer["errors"]]
    return None


def first_line(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "(empty body)")
    return line if len(line) <= 160 else line[:157] + "..."


class Rest:
    """Calls to one cluster's REST endpoint, e.g. Rest("http://203.0.113.7:8081"); `name` says what
    answers there in errors (Flink's SQL gateway answers as Flink's REST API does)."""

    def __init__(self, url: str, name: str = "Flink"):
        self.url = check_url(url)
        self.name = name

    def call(self, method: str, path: str, body: bytes | None = None,
             content_type: str = "application/json") -> dict:
        """The JSON object Flink answers (an empty answer: {}); Refused otherwise."""
        request = urllib.request.Request(self.url + path, data=body, method=method,
                                         headers={"Content-Type": content_type, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                text = answer.read().decode(errors="replace")
        except urllib.error.HTTPError as err:
            raise self.refusal(method, path, err) from None
        except urllib.error.URLError as err:
            raise Refused(f"cannot reach {self.name} at {self.url}: {err.reason}") from None
        except (OSError, http.client.HTTPException) as err:  # reset, timeout, not HTTP
            raise Refused(f"cannot reach {self.name} at {self.url}: {err!r}") from None
        try:
            answer = json.loads(text) if text.strip() else {}
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise Refused(f"{method} {path}: {self.url} is not {self.name}'s REST API? It answered: {text[:300]!r}")
        return answer

    def refusal(self, method: str, path: str, err: urllib.error.HTTPError) -> Refused:
        """Flink's refusal in one line (its trace for --verbose), or what else answered."""
        text = err.read().decode(errors="replace")
        errors = flink_errors(text)
        if errors is None:
            content_type = err.headers.get("Content-Type") or "no content type"
            return Refused(f"{method} {path}: {self.url} answered HTTP {err.code} {err.reason} "
                           f"({content_type}), which is not an error of {self.name}'s REST API (a proxy, "
                           f"or not {self.name} at this address?): {first_line(text)}", trace=text)
        full = "\n".join(errors)
        return FlinkRefused(f"{self.name} refused {method} {path} (HTTP {err.code}): {summary(full)}", full,
                            err.code)

    def get(self, path: str) -> dict:
        return self.call("GET", path)

    def post(self, path: str, body: dict) -> dict:
        return self.call("POST", path, json.dumps(body).encode())


def field(answer: dict, name: str, call: str, who: str = "Flink"):
    """answer[name], or Refused naming the call when the answer (of `who`) lacks it."""
    if answer.get(name) is None:
        raise Refused(f"{call}: {who}'s answer has no {name!r}: {json.dumps(answer)[:300]}")
    return answer[name]
