"""One deterministic mapping from a tool call to the GEN NX API request it stands for, and back.

Each catalogue tool carries an `api` spec written in a small template language (data/gennx/README.md).
`to_request` fills the template with the call's arguments; `from_request` matches a request against the
templates and recovers the call where that is well defined.

>>> spec = {"method": "POST", "path": "/db/NODE", "assign": {"$key": "$id", "record": {"X": "$x", "Y": "$y", "Z": "$z"}}}
>>> str(build_request(spec, {"id": 1, "x": 0, "y": 0, "z": 0}))
'POST /db/NODE {"Assign": {"1": {"X": 0, "Y": 0, "Z": 0}}}'
>>> invert_request(spec, build_request(spec, {"id": 1, "x": 0, "y": 0, "z": 3.5}))
{'id': 1, 'x': 0, 'y': 0, 'z': 3.5}
"""
from __future__ import annotations

import json
from dataclasses import dataclass

_MISSING = object()


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    body: dict | None = None

    def __str__(self) -> str:
        if self.body is None:
            return f"{self.method} {self.path}"
        return f"{self.method} {self.path} {json.dumps(self.body, ensure_ascii=False)}"

    def as_dict(self) -> dict:
        return {"method": self.method, "path": self.path, "body": self.body}


class MappingError(ValueError):
    """A call that cannot become a request (an argument the template needs is missing or malformed)."""


# ---------------------------------------------------------------- forward

def _fill(template, args: dict, item=_MISSING):
    """Fill one template; returns _MISSING when it refers to an absent argument."""
    if isinstance(template, str):
        if template == "$.":
            return item
        if template.startswith("$.") and isinstance(item, dict):
            return item.get(template[2:], _MISSING)
        if template.startswith("$") and len(template) > 1:
            return args.get(template[1:], _MISSING)
        return template
    if isinstance(template, list):
        return [v for v in (_fill(t, args, item) for t in template) if v is not _MISSING]
    if not isinstance(template, dict):
        return template
    if "$arg" in template:
        return args.get(template["$arg"], template.get("default", _MISSING))
    if "$map" in template:
        value = args.get(template["$map"], template.get("default", _MISSING))
        if value is _MISSING:
            return _MISSING
        if value not in template["values"]:
            raise MappingError(f"'{template['$map']}' must be one of {sorted(template['values'])}, got {value!r}")
        return template["values"][value]
    if "$each" in template:
        values = args.get(template["$each"], _MISSING)
        if values is _MISSING:
            return _MISSING
        return [_fill(template["as"], args, v) for v in values]
    if "$fmt" in template:
        return template["$fmt"].format(item)
    if "$concat" in template:
        parts = [_fill(t, args, item) for t in template["$concat"]]
        return [x for part in parts if part is not _MISSING for x in part]
    out = {}
    for key, value in template.items():
        filled = _fill(value, args, item)
        if filled is not _MISSING:
            out[key] = filled
    return _MISSING if template and not out else out  # an optional sub-object with nothing in it is left out


def _ids(values) -> str:
    return ",".join(str(v) for v in values)


def build_request(spec: dict, args: dict) -> ApiRequest:
    """The request for one call, from the tool's `api` spec and the call's arguments."""
    path = spec["path"]
    if "ids" in spec:
        ids = _fill(spec["ids"], args)
        if ids is not _MISSING and ids:
            path = f"{path}/{_ids(ids)}"
    body = None
    if "assign" in spec:
        assign = spec["assign"]
        record = None if "$items" in assign else _fill(assign["record"], args)
        if "$items" in assign:
            items = args.get(assign["$items"]) or []
            if not items:
                raise MappingError(f"'{assign['$items']}' must list at least one item")
            body = {"Assign": {str(_fill(assign["key"], args, it)): _fill(assign["record"], args, it) for it in items}}
        elif "$keys" in assign:
            keys = args.get(assign["$keys"])
            if not keys:
                raise MappingError(f"'{assign['$keys']}' must list at least one id")
            body = {"Assign": {str(k): record for k in keys}}
        else:
            key = _fill(assign["$key"], args)
            if key is _MISSING:
                raise MappingError(f"the record key {assign['$key']!r} is missing")
            body = {"Assign": {str(key): record}}
    elif "argument" in spec:
        argument = _fill(spec["argument"], args)
        body = {"Argument": {} if argument is _MISSING else argument}
    elif "body" in spec:
        filled = _fill(spec["body"], args)
        body = {} if filled is _MISSING else filled
    return ApiRequest(spec["method"], path, body)


# ---------------------------------------------------------------- reverse

class _NoMatch(Exception):
    pass


def _bind(args: dict, name: str, value) -> None:
    if name in args and args[name] != value:
        raise _NoMatch(f"{name} bound twice")
    args[name] = value


def _optional(template) -> bool:
    """Can this template be left out of a filled request (it refers only to arguments)?"""
    if isinstance(template, str):
        return template.startswith("$") and len(template) > 1
    if isinstance(template, dict):
        if any(k in template for k in ("$arg", "$each", "$map", "$concat")):
            return True
        return bool(template) and all(_optional(v) for v in template.values())
    return False


def _match(template, value, args: dict) -> None:
    """Match a filled value against a template, binding arguments; raises _NoMatch."""
    if isinstance(template, str):
        if template.startswith("$") and len(template) > 1:
            _bind(args, template[1:], value)
        elif template != value:
            raise _NoMatch(f"{value!r} != {template!r}")
        return
    if isinstance(template, dict) and "$arg" in template:
        if "default" not in template or value != template["default"]:
            _bind(args, template["$arg"], value)
        return
    if isinstance(template, dict) and "$map" in template:
        reverse = {v: k for k, v in template["values"].items()}
        if value not in reverse:
            raise _NoMatch(f"{value!r} not in map")
        if reverse[value] != template.get("default", _MISSING):  # defaults stay implicit
            _bind(args, template["$map"], reverse[value])
        return
    if isinstance(template, dict) and "$each" in template:
        if not isinstance(value, list):
            raise _NoMatch("expected a list")
        items = []
        for element in value:
            items.append(_match_item(template["as"], element))
        _bind(args, template["$each"], items)
        return
    if isinstance(template, dict) and "$concat" in template:
        _match_concat(template["$concat"], value, args)
        return
    if isinstance(template, dict):
        if not isinstance(value, dict):
            raise _NoMatch("expected an object")
        for key, sub in template.items():
            if key in value:
                _match(sub, value[key], args)
            elif not _optional(sub):
                raise _NoMatch(f"missing constant key {key}")
        if set(value) - set(template):
            raise _NoMatch(f"unexpected keys {sorted(set(value) - set(template))}")
        return
    if isinstance(template, list):
        if not isinstance(value, list) or len(value) != len(template):
            raise _NoMatch("list shape")
        for t, v in zip(template, value):
            _match(t, v, args)
        return
    if template != value:
        raise _NoMatch(f"{value!r} != {template!r}")


def _match_item(template, element):
    if template == "$.":
        return element
    if isinstance(template, dict) and "$fmt" in template:
        prefix, _, suffix = template["$fmt"].partition("{}")
        if not (isinstance(element, str) and element.startswith(prefix) and element.endswith(suffix)):
            raise _NoMatch("format")
        return element[len(prefix):len(element) - len(suffix)]
    if isinstance(template, dict):
        item = {}
        for key, sub in template.items():
            if key not in element:
                continue
            if isinstance(sub, str) and sub.startswith("$."):
                item[sub[2:]] = element[key]
            else:
                _match(sub, element[key], {})
        return item
    raise _NoMatch("item template")


def _match_concat(parts, value, args):
    remaining = list(value)
    for part in parts:
        matched = []
        for element in list(remaining):
            try:
                matched.append(_match_item(part["as"], element))
                remaining.remove(element)
            except _NoMatch:
                continue
        if matched:
            _bind(args, part["$each"], matched)
    if remaining:
        raise _NoMatch(f"unmatched {remaining}")


def invert_request(spec: dict, request: ApiRequest) -> dict | None:
    """The call arguments that `spec` would turn into `request`, or None if it does not fit."""
    args: dict = {}
    base = spec["path"]
    try:
        if request.method != spec["method"]:
            raise _NoMatch("method")
        path = request.path
        if path.lower() != base.lower():
            if "ids" not in spec or not path.lower().startswith(base.lower() + "/"):
                raise _NoMatch("path")
            ids = [int(x) if x.isdigit() else x for x in path[len(base) + 1:].split(",")]
            _match(spec["ids"], ids, args)
        body = request.body
        if "assign" in spec:
            assign = spec["assign"]
            records = (body or {}).get("Assign")
            if not isinstance(records, dict) or not records:
                raise _NoMatch("no Assign")
            if "$items" in assign:
                items = []
                for key, record in records.items():
                    item = _match_item(assign["record"], record)
                    item.update(_match_item({"k": assign["key"]}, {"k": int(key) if key.isdigit() else key}))
                    items.append(item)
                _bind(args, assign["$items"], items)
            elif "$keys" in assign:
                first = next(iter(records.values()))
                if any(r != first for r in records.values()):
                    raise _NoMatch("records differ")
                _bind(args, assign["$keys"], [int(k) if k.isdigit() else k for k in records])
                _match(assign["record"], first, args)
            else:
                if len(records) != 1:
                    raise _NoMatch("one key expected")
                (key, record), = records.items()
                _match(assign["$key"], int(key) if key.isdigit() and assign["$key"].startswith("$") else key, args)
                _match(assign["record"], record, args)
        elif "argument" in spec:
            if not isinstance(body, dict) or "Argument" not in body:
                raise _NoMatch("no Argument")
            if body["Argument"] != {} or spec["argument"] != {}:
                _match(spec["argument"], body["Argument"], args)
        elif "body" in spec:
            _match(spec["body"], body or {}, args)
    except _NoMatch:
        return None
    return args
