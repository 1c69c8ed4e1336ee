"""`gh` for the workflows' jobs: records every call and answers the REST endpoints they use.

Run by the wrapper tests/github.py installs; GH_STANDIN_STATE names the JSON state it answers from and
writes back, GH_STANDIN_CALLS the file each call is appended to. How it is kinder than GitHub is listed
in tests/github.py.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

NOT_FOUND = "gh: Not Found (HTTP 404)"


class Refused(Exception):
    """What `gh` prints on stderr before it exits 1."""


def parse(args: list[str]) -> tuple[str, str, set[str]]:
    """`gh api [--method M] [--input F] [--paginate] [--slurp] <path>`: the method, path and flags."""
    method, path, flags = "GET", None, set()
    rest = list(args)
    while rest:
        item = rest.pop(0)
        if item in ("--method", "-X"):
            method = rest.pop(0)
        elif item == "--input":
            rest.pop(0)
        elif item in ("--paginate", "--slurp"):
            flags.add(item)
        elif path is None:
            path = item
    if path is None:
        raise Refused("gh stand-in: unsupported call: gh api without a path")
    return method, path, flags


def account(state: dict[str, Any], method: str, route: str) -> dict[str, Any] | None:
    """A user or team lookup (what `make environments` resolves reviewers with), or None for another route."""
    if method == "GET" and (m := re.fullmatch(r"users/([^/]+)", route)):
        if m.group(1) not in state["users"]:
            raise Refused(NOT_FOUND)
        return {"login": m.group(1), "id": state["users"][m.group(1)], "type": "User"}
    if method == "GET" and (m := re.fullmatch(r"orgs/([^/]+)/teams/([^/]+)", route)):
        name = f"{m.group(1)}/{m.group(2)}"
        if name not in state["teams"]:
            raise Refused(NOT_FOUND)
        return {"slug": m.group(2), "id": state["teams"][name]}
    return None


def repository(state: dict[str, Any], method: str, tail: str, body: str) -> Any:
    """An endpoint under repos/<owner>/<repo>/: settings, reviews, a commit's pulls, comments."""
    if method == "PATCH" and tail == "":
        state["settings"]["repository"] = {**state["settings"].get("repository", {}), **json.loads(body)}
        return state["settings"]["repository"]
    if method == "PUT" and (m := re.fullmatch(r"branches/([^/]+)/protection", tail)):
        state["settings"].setdefault("protection", {})[m.group(1)] = json.loads(body)
        return state["settings"]["protection"][m.group(1)]
    if method == "PUT" and (m := re.fullmatch(r"environments/([^/]+)", tail)):
        state["settings"].setdefault("environments", {})[m.group(1)] = json.loads(body)
        return state["settings"]["environments"][m.group(1)]
    if method == "GET" and (m := re.fullmatch(r"pulls/(\d+)/reviews", tail)):
        return state["reviews"].get(m.group(1), [])
    if method == "GET" and (m := re.fullmatch(r"commits/([0-9a-f]{40})/pulls", tail)):
        return state["commit_pulls"].get(m.group(1), [])
    if method == "GET" and (m := re.fullmatch(r"issues/(\d+)/comments", tail)):
        return state["comments"].get(m.group(1), [])
    if method == "POST" and (m := re.fullmatch(r"issues/(\d+)/comments", tail)):
        state["next_id"] += 1
        comment = {"id": state["next_id"], "body": json.loads(body)["body"]}
        state["comments"].setdefault(m.group(1), []).append(comment)
        return comment
    if method == "PATCH" and (m := re.fullmatch(r"issues/comments/(\d+)", tail)):
        for comments in state["comments"].values():
            for comment in comments:
                if comment["id"] == int(m.group(1)):
                    comment["body"] = json.loads(body)["body"]
                    return comment
        raise Refused(NOT_FOUND)
    return None


def issues(state: dict[str, Any], method: str, tail: str, query: dict[str, str], body: str) -> Any:
    """Issues and pull requests opened through the API (monitor.yml's retraining proposal), one numbering."""
    opened = state.setdefault("issues", {})
    if method == "GET" and tail == "issues":
        wanted = set(filter(None, query.get("labels", "").split(",")))
        return [i for i in opened.values() if i["state"] == query.get("state", "open")
                and wanted <= {label["name"] for label in i["labels"]}]  # fmt: skip
    if method == "POST" and tail in ("issues", "pulls"):
        sent = json.loads(body)
        number = 9000 + len(opened) + 1  # apart from the pull requests the tests open with open_pull_request
        issue = {"number": number, "title": sent["title"], "body": sent.get("body", ""), "state": "open",
                 "labels": [{"name": name} for name in sent.get("labels", [])]}  # fmt: skip
        if tail == "pulls":
            issue["pull_request"] = {"head": sent["head"], "base": sent["base"]}
        opened[str(number)] = issue
        return issue
    if method == "POST" and (m := re.fullmatch(r"issues/(\d+)/labels", tail)) and m.group(1) in opened:
        issue = opened[m.group(1)]
        issue["labels"] += [{"name": n} for n in json.loads(body)["labels"] if {"name": n} not in issue["labels"]]
        return issue["labels"]
    return None


def answer(state: dict[str, Any], method: str, path: str, body: str) -> Any:
    """What GitHub's API answers to `method path`; `state` is changed as GitHub's would be."""
    unsupported = Refused(f"gh stand-in: unsupported call: {method} {path}")
    route = path.split("?")[0].replace("{owner}/{repo}", state["repository"])  # as gh fills them from the remote
    if (found := account(state, method, route)) is not None:
        return found
    repo = re.fullmatch(r"repos/([^/]+/[^/]+)(?:/(.*))?", route)
    if not repo or repo.group(1) != state["repository"]:
        raise unsupported
    tail = repo.group(2) or ""
    if tail in ("issues", "pulls") or re.fullmatch(r"issues/\d+/labels", tail):
        query = dict(q.split("=", 1) for q in path.partition("?")[2].split("&") if "=" in q)
        found = issues(state, method, tail, query, body)
    else:
        found = repository(state, method, tail, body)
    if found is None:
        raise unsupported
    return found


def main(args: list[str]) -> None:
    token = bool(os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN"))
    body = sys.stdin.read() if not sys.stdin.isatty() and "--input" in args else ""
    with Path(os.environ["GH_STANDIN_CALLS"]).open("a") as log:
        log.write(json.dumps({"args": args, "input": body, "token": token}) + "\n")
    if args[:2] == ["auth", "status"]:
        sys.exit(0 if os.environ.get("GH_TOKEN") else 1)
    if not args or args[0] != "api":
        sys.exit(f"gh stand-in: unsupported call: gh {' '.join(args)}")
    if not token:
        sys.exit("gh: To use GitHub CLI in a GitHub Actions workflow, set the GH_TOKEN environment variable.")
    state_path = Path(os.environ["GH_STANDIN_STATE"])
    state = json.loads(state_path.read_text())
    try:
        method, path, flags = parse(args[1:])
        result = answer(state, method, path, body)
    except Refused as refusal:
        sys.exit(str(refusal))
    state_path.write_text(json.dumps(state))
    print(json.dumps([result] if "--slurp" in flags else result))  # one page: every listing here is short


if __name__ == "__main__":
    main(sys.argv[1:])
