"""An in-process GEN NX: the Tier 1 API surface over a model state, answering like the real API.

It follows the API notes: `{"Assign": {...}}` bodies keyed by string ids, POST creates (an existing key
answers "Key Already Exist"), PUT creates or replaces, DELETE /db/X/ids deletes ids and a bare DELETE the
whole table, errors come inside a 2xx body as `{"error": {"message": ...}}`, unknown fields are dropped.
`/doc/ANAL` runs a real linear static analysis (solver.py) and `/post/TABLE` answers in the GEN NX
table layout. Where the notes say nothing, the sandbox's choice is marked "assumed" in a comment.

>>> box = GenNxSandbox()
>>> box.request("POST", "/db/NODE", {"Assign": {"1": {"X": 0, "Y": 0, "Z": 0}}})
{'NODE': {'1': {'X': 0, 'Y': 0, 'Z': 0}}}
>>> box.request("POST", "/db/NODE", {"Assign": {"1": {"X": 1, "Y": 0, "Z": 0}}})
{'error': {'message': 'Key Already Exist'}}
"""
from __future__ import annotations

import copy
import math

from .mapping import ApiRequest
from .solver import AnalysisError, analyse, combine, load_grades
from .tables import result_table, TableError

COMPLETE = {"message": "MIDAS GEN NX command complete"}
SINGLETONS = ("UNIT", "STYP", "PJCF", "ACTL", "EIGV", "LTOM", "DSTL", "DCON")
# Tables whose POST appends at the next free number, ignoring the key (confirmed live for STLD; assumed for the rest).
# What is deleted with a node / an element: the tables keyed by it, and its membership list in groups (assumed).
ATTRIBUTES = {"NODE": (("CONS", "NSPR", "CNLD"), "N_LIST"), "ELEM": (("FRLS", "BMLD", "PRES"), "E_LIST")}
SEQUENCE_TABLES = ("STLD", "BODF", "FBLD", "FBLA", "LCOM-GEN", "LCOM-STEEL", "LCOM-CONC", "LCOM-SRC", "LCOM-STLCOMP", "LCOM-SEISMIC")
# Tables that hold a list of ITEMS per node/element; a POST to an existing key adds its items (assumed).
ITEM_TABLES = ("CONS", "NSPR", "FRLS", "CNLD", "BMLD", "PRES", "RIGD", "OFFS", "SDSP", "GSPR")
STLD_TYPES = {"D", "L", "LR", "W", "WA", "WT", "E", "EVT", "S", "R", "T", "TPG", "EH", "EV", "ES", "EP", "WP", "B", "PS",
              "CR", "SH", "CS", "ER", "USER", "I", "EE", "DC", "DW", "BRK", "CF", "CO", "CT", "CV", "IL"}
ELEM_NODES = {"BEAM": (2, 2), "TRUSS": (2, 2), "TENSTR": (2, 2), "COMPTR": (2, 2), "PLATE": (3, 4), "WALL": (4, 4),
              "PLSTRS": (3, 4), "PLSTRN": (3, 4), "AXISYM": (3, 4), "SOLID": (4, 8)}
UNIT_ENUMS = {"FORCE": {"KGF", "TONF", "N", "KN", "LBF", "KIPS"}, "DIST": {"MM", "CM", "M", "IN", "FT"},
              "HEAT": {"CAL", "KCAL", "J", "BTU", "KJ"}, "TEMPER": {"C", "F"}}


def error(message: str) -> dict:
    return {"error": {"message": message}}


class RequestRejected(Exception):
    """Raised inside the sandbox; becomes `{"error": {"message": ...}}` in the response body."""


def _num(value) -> bool:
    """A finite JSON number (NaN, Infinity and 1e309 parse in Python but are not model data)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:   # an integer too large for a float
        return False


def _non_finite(value, where: str = "body") -> str | None:
    """Where the first number that is not finite (or too large for a float) sits in a request body."""
    if (isinstance(value, float) and not math.isfinite(value)
            or isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1e300):
        return where
    if isinstance(value, dict):
        return next((w for k, v in value.items() if (w := _non_finite(v, f"{where}.{k}"))), None)
    if isinstance(value, list):
        return next((w for i, v in enumerate(value) if (w := _non_finite(v, f"{where}[{i}]"))), None)
    return None


def _in(value, collection) -> bool:
    """`value in collection` that is False for a value that cannot be a key (a list where a name belongs)."""
    try:
        return value in collection
    except TypeError:
        return False


def _hashable(value) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def _dicts(value) -> list:
    """The list items of `value` that are objects (anything else in a list is dropped as an unknown field would be)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _flags(value, where: str) -> str:
    if not isinstance(value, str) or set(value) - {"0", "1"} or len(value) < 7:
        raise RequestRejected(f"{where} must be a 7-character string of 0/1, got {value!r}")
    return value[:7]  # an 8th character is dropped, as the real API does


def dangling(db: dict):
    """(user, target) for every reference in the model that points nowhere or no longer fits (see _commit).

    A target that exists but no longer fits reads "... (why)", e.g. a beam whose two nodes coincide.

    >>> list(dangling({"NODE": {}, "CNLD": {"3": {"ITEMS": []}}}))
    [('CNLD 3', 'node 3')]
    """
    t = lambda name: db.get(name) or {}  # noqa: E731
    cases = {r.get("NAME") for r in t("STLD").values()}
    combos = {r.get("NAME") for r in t("LCOM-GEN").values()}
    stories = {r.get("STORY_NAME") for r in t("STOR").values()}
    floor_types = {r.get("NAME") for r in t("FBLD").values()}
    nodes, elems = t("NODE"), t("ELEM")

    def case(name, user):
        if not isinstance(name, str) or name not in cases:
            yield user, f"load case '{name}'"

    for eid, e in elems.items():
        user, kind = f"element {eid}", e.get("TYPE", "BEAM")
        ends = [str(n) for n in e.get("NODE", [])]
        yield from ((user, f"node {n}") for n in ends if n not in nodes)
        if str(e.get("MATL")) not in t("MATL"):
            yield user, f"material {e.get('MATL')}"
        if kind in ("PLATE", "WALL", "PLSTRS", "PLSTRN", "AXISYM") and str(e.get("SECT")) not in t("THIK"):
            yield user, f"thickness {e.get('SECT')}"
        elif kind not in ("PLATE", "WALL", "PLSTRS", "PLSTRN", "AXISYM", "SOLID") and str(e.get("SECT")) not in t("SECT"):
            yield user, f"section {e.get('SECT')}"
        if kind in ("BEAM", "TRUSS") and len(ends) == 2 and all(n in nodes for n in ends):
            a, b = nodes[ends[0]], nodes[ends[1]]
            if all(abs(a[c] - b[c]) < 1e-9 for c in "XYZ"):
                yield user, f"node {ends[1]} (at the same point as node {ends[0]}: zero length)"
    for table in ("CONS", "NSPR", "CNLD"):
        yield from ((f"{table} {k}", f"node {k}") for k in t(table) if k not in nodes)
    for table, kinds in (("FRLS", ("BEAM",)), ("BMLD", ("BEAM", "TRUSS")), ("PRES", ("PLATE", "WALL"))):
        for k in t(table):
            if k not in elems or elems[k].get("TYPE") not in kinds:
                yield f"{table} {k}", f"element {k} (must exist and be {' or '.join(kinds)})"
    for table in ("CNLD", "BMLD", "PRES"):
        for k, record in t(table).items():
            for index, it in enumerate(_dicts(record.get("ITEMS"))):
                yield from case(it.get("LCNAME"), f"{table} {k} item {index + 1}")
    for k, r in t("BODF").items():
        yield from case(r.get("LCNAME"), f"BODF {k}")
    for k, r in t("FBLD").items():
        for it in _dicts(r.get("ITEM")):
            yield from case(it.get("LCNAME"), f"floor load type '{r.get('NAME')}'")
    for k, r in t("FBLA").items():
        if not _in(r.get("FLOOR_LOAD_TYPE_NAME"), floor_types):
            yield f"FBLA {k}", f"floor load type '{r.get('FLOOR_LOAD_TYPE_NAME')}'"
        yield from ((f"FBLA {k}", f"node {n}") for n in r.get("NODES", []) if str(n) not in nodes)
    for k, r in t("LCOM-GEN").items():
        for term in _dicts(r.get("vCOMB")):
            if term.get("ANAL", "ST") == "ST":
                yield from case(term.get("LCNAME"), f"combination '{r.get('NAME')}'")
            elif not _in(term.get("LCNAME"), combos):
                yield f"combination '{r.get('NAME')}'", f"combination '{term.get('LCNAME')}'"
    for table, entries in (("SWIND", "ADDITIONAL_LOAD"), ("SSEIS", "SEISMIC_FORCE")):
        for k, r in t(table).items():
            if k not in t("STLD"):
                yield f"{table} {k}", f"load case number {k}"
            for entry in _dicts(r.get(entries)):
                if not _in(entry.get("STORY_NAME"), stories):
                    yield f"{table} {k}", f"story '{entry.get('STORY_NAME')}'"
    for k, r in t("GRUP").items():
        yield from ((f"group '{r.get('NAME')}'", f"node {n}") for n in r.get("N_LIST", []) if str(n) not in nodes)
        yield from ((f"group '{r.get('NAME')}'", f"element {e}") for e in r.get("E_LIST", []) if str(e) not in elems)


class GenNxSandbox:
    """The model state and the request handler. `request()` returns the response body; `last_status` the HTTP status."""

    def __init__(self):
        self.saved: dict[str, dict] = {}
        self.last_status = 200
        self._grades = load_grades()
        self.new_document()

    # ------------------------------------------------------------ state

    def new_document(self):
        self.db: dict[str, dict] = {"UNIT": {"1": {"FORCE": "KN", "DIST": "M", "HEAT": "KJ", "TEMPER": "C"}},
                                    "STYP": {"1": {"STYP": 0, "MASS": 1, "GRAV": 9.806}}}
        self.path: str | None = None
        self.results: dict | None = None

    def table(self, name: str) -> dict:
        return self.db.get(name, {})

    def summary(self) -> dict:
        """Counts per table (what GET /ope/PROJECTSTATUS answers)."""
        return {name: {"COUNT": len(rows), "MAX_ID": max((int(k) for k in rows if k.isdigit()), default=0)}
                for name, rows in sorted(self.db.items()) if rows}

    # ------------------------------------------------------------ entry points

    def execute(self, req: ApiRequest) -> dict:
        return self.request(req.method, req.path, req.body)

    def request(self, method: str, path: str, body=None) -> dict:
        """Handle one API request like GEN NX; never raises on bad input."""
        self.last_status = 200
        if not isinstance(method, str) or not isinstance(path, str):
            self.last_status = 400
            return error("method and path must be strings")
        method = method.upper()
        parts = [p for p in path.strip().split("/") if p]
        bad_number = _non_finite(body)
        if bad_number:
            self.last_status = 400
            return error(f"Wrong Field: {bad_number} is not a finite number (NaN, Infinity and 1e309 are not model data)")
        if len(parts) < 2:
            self.last_status = 404
            return error(f"Wrong URL: {path}")
        group, item = parts[0].lower(), parts[1].upper()
        ids = parts[2].split(",") if len(parts) > 2 else None
        try:
            handler = {"db": self._db, "doc": self._doc, "ope": self._ope, "post": self._post,
                       "view": self._view, "config": self._config}.get(group)
            if handler is None:
                self.last_status = 404
                return error(f"Wrong URL: {path}")
            return handler(method, item, ids, body)
        except RequestRejected as err:
            return error(str(err))
        except Exception as err:   # a sandbox bug: answered like a server error, the model state untouched (staged)
            self.last_status = 500
            return error(f"sandbox internal error ({type(err).__name__}: {err}); the request changed nothing")

    # ------------------------------------------------------------ /db

    def _db(self, method, item, ids, body):
        table = self.db.get(item, {})   # no empty table is left behind by a refused request
        if method == "GET":
            rows = table if ids is None else {k: table[k] for k in ids if k in table}
            return {item: copy.deepcopy(rows)} if rows else {"message": ""}
        if method == "DELETE":
            return self._delete(item, table, ids)
        if method not in ("POST", "PUT"):
            self.last_status = 405
            return error(f"Method {method} is not allowed on /db/{item}")
        if item in SINGLETONS and method == "POST":
            raise RequestRejected(f"/db/{item} is a single record: use PUT")
        records = (body or {}).get("Assign") if isinstance(body, dict) else None
        if not isinstance(records, dict) or not records:
            raise RequestRejected("Wrong Field")  # body must be {"Assign": {"<id>": {...}}}
        staged = copy.deepcopy(self.db)
        written = {}
        for key, record in records.items():
            key = str(key)
            if not isinstance(record, dict):
                raise RequestRejected(f"Assign.{key} must be an object")
            target = staged.setdefault(item, {})
            if method == "POST" and item in SEQUENCE_TABLES:
                key = str(max((int(k) for k in target if k.isdigit()), default=0) + 1)
            record = self._validate(item, key, copy.deepcopy(record), staged)
            if method == "POST" and key in target:
                if item not in ITEM_TABLES:
                    raise RequestRejected("Key Already Exist")
                items = target[key]["ITEMS"]
                for extra in record["ITEMS"]:
                    extra["ID"] = max((i.get("ID", 0) for i in items), default=0) + 1
                    items.append(extra)
                record = target[key]
            elif method == "PUT" and item in SINGLETONS and key in target:
                record = {**target[key], **record}  # omitted fields keep their values
            target[key] = record
            written[key] = record
        self._commit(staged, f"{method} /db/{item}")
        self.results = None
        if method == "POST":
            self.last_status = 201
        return {item: copy.deepcopy(written)}

    def _delete(self, item, table, ids):
        keys = list(table) if ids is None else [k for k in dict.fromkeys(ids) if k in table]
        staged = copy.deepcopy(self.db)
        for key in keys:
            del staged[item][key]
        if item in ATTRIBUTES:   # assumed: what belongs to a node or element goes with it (as in the GUI)
            tables, member_list = ATTRIBUTES[item]
            for table in tables:
                for key in keys:
                    staged.get(table, {}).pop(key, None)
            for group in staged.get("GRUP", {}).values():
                if isinstance(group.get(member_list), list):
                    group[member_list] = [m for m in group[member_list] if str(m) not in keys]
        self._commit(staged, f"DELETE /db/{item}", deleting=True)
        return {"message": ""} if ids is None else {item: {k: {} for k in keys}}

    def _commit(self, staged: dict, what: str, deleting: bool = False) -> None:
        """Make `staged` the model unless it leaves a reference dangling (then nothing changes).

        The API notes do not say whether GEN NX cascades or refuses a change that breaks a reference. The
        sandbox (assumed) deletes a node's or element's own attributes with it (ATTRIBUTES: supports,
        springs, releases, loads on it, group membership) and refuses everything else, naming what still
        refers to the record: an element's node, material or section; a load case used by loads or
        combinations; a story or floor load type in use; a node moved onto the other end of its beam. So no
        request deletes independent data silently and the analysis never meets a model with holes.
        """
        before = set(dangling(self.db))
        for user, target in dangling(staged):
            if (user, target) in before:
                continue
            if deleting:
                raise RequestRejected(f"{target} is used by {user}; delete or change {user} first (not deleted)")
            raise RequestRejected(f"{what} would leave {user} referring to {target}; the request was not applied")
        self.db = staged
        self.results = None

    # field checks per table; each returns the cleaned record or raises RequestRejected
    def _validate(self, item, key, record, db):
        check = getattr(self, f"_check_{item.replace('-', '_').lower()}", None)
        return check(key, record, db) if check else record

    def _need(self, record, field, kind, where):
        value = record.get(field)
        if kind == "num" and not _num(value):
            raise RequestRejected(f"{where}.{field} must be a number, got {value!r}")
        if kind == "str" and (not isinstance(value, str) or not value):
            raise RequestRejected(f"{where}.{field} must be a non-empty string, got {value!r}")
        if kind == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
            raise RequestRejected(f"{where}.{field} must be an integer, got {value!r}")
        return value

    def _exists(self, db, table, key, what):
        if str(key) not in db.get(table, {}):
            raise RequestRejected(f"{what} {key} does not exist")

    def _case_exists(self, db, name, where):
        if not isinstance(name, str) or name not in {r["NAME"] for r in db.get("STLD", {}).values()}:
            raise RequestRejected(f"{where}: load case '{name}' does not exist")

    def _check_unit(self, key, r, db):
        for field, allowed in UNIT_ENUMS.items():
            if field in r and (not isinstance(r[field], str) or r[field] not in allowed):
                raise RequestRejected(f"UNIT.{field} must be one of {sorted(allowed)}, got {r[field]!r}")
        return {k: v for k, v in r.items() if k in UNIT_ENUMS}

    def _check_styp(self, key, r, db):
        if "STYP" in r and r["STYP"] not in (0, 1, 2, 3, 4):
            raise RequestRejected(f"STYP.STYP must be 0..4, got {r['STYP']!r}")
        return r

    def _check_node(self, key, r, db):
        for axis in "XYZ":
            self._need(r, axis, "num", f"NODE {key}")
        return {a: r[a] for a in "XYZ"}

    def _check_elem(self, key, r, db):
        where = f"ELEM {key}"
        kind = r.get("TYPE", "BEAM")
        if not _in(kind, ELEM_NODES):
            raise RequestRejected(f"{where}.TYPE must be one of {sorted(ELEM_NODES)}, got {kind!r}")
        nodes = r.get("NODE")
        low, high = ELEM_NODES[kind]
        if (not isinstance(nodes, list) or not low <= len(nodes) <= high or not all(_hashable(n) for n in nodes)
                or len(set(nodes)) != len(nodes)):
            raise RequestRejected(f"{where}.NODE must list {low}{'-' + str(high) if high != low else ''} different nodes for {kind}")
        for n in nodes:
            self._exists(db, "NODE", n, f"{where}: node")
        self._exists(db, "MATL", self._need(r, "MATL", "int", where), f"{where}: material")
        if kind in ("PLATE", "WALL", "PLSTRS", "PLSTRN", "AXISYM"):
            self._exists(db, "THIK", self._need(r, "SECT", "int", where), f"{where}: thickness")
        elif kind != "SOLID":
            self._exists(db, "SECT", self._need(r, "SECT", "int", where), f"{where}: section")
        if kind in ("BEAM", "TRUSS"):
            a, b = (db["NODE"][str(n)] for n in nodes)
            if all(abs(a[c] - b[c]) < 1e-9 for c in "XYZ"):
                raise RequestRejected(f"{where} has zero length (nodes {nodes[0]} and {nodes[1]} coincide)")
        r.setdefault("TYPE", kind)
        r.setdefault("ANGLE", 0)
        return r

    def _check_matl(self, key, r, db):
        where = f"MATL {key}"
        if r.get("TYPE") not in ("CONC", "STEEL", "SRC", "ALUMINUM", "USER"):
            raise RequestRejected(f"{where}.TYPE must be CONC, STEEL, SRC, ALUMINUM or USER, got {r.get('TYPE')!r}")
        params = r.get("PARAM")
        if not isinstance(params, list) or not params or not isinstance(params[0], dict):
            raise RequestRejected(f"{where}.PARAM must be a list with one entry")
        p = params[0]
        if p.get("P_TYPE") == 1:
            standard = p.get("STANDARD")
            if not isinstance(standard, str) or not isinstance(p.get("DB"), str):
                raise RequestRejected(f"{where}.PARAM[0].STANDARD and DB must be strings")
            if standard in self._grades["rejected_standards"]:
                raise RequestRejected(self._grades["rejected_standards"][standard])
            std = self._grades["standards"].get(standard)
            if std is None or p.get("DB") not in std["grades"]:
                raise RequestRejected(f"Failed to get material data for: {p.get('DB')}")
            if (std["family"] == "steel") != (r["TYPE"] == "STEEL"):
                raise RequestRejected(f"{where}: {standard} is a {std['family']} database but TYPE is {r['TYPE']}")
        elif p.get("P_TYPE") == 2:
            if not _num(p.get("ELAST")) or p["ELAST"] <= 0:
                raise RequestRejected(f"{where}.PARAM[0].ELAST must be a positive number")
            if not _num(p.get("POISN", 0.3)) or not 0 <= p.get("POISN", 0.3) <= 0.5:
                raise RequestRejected(f"{where}.PARAM[0].POISN must be between 0 and 0.5")
        else:
            raise RequestRejected(f"{where}.PARAM[0].P_TYPE must be 1 (database) or 2 (user)")
        r.setdefault("NAME", p.get("DB", f"M{key}"))
        return r

    def _check_sect(self, key, r, db):
        from .solver import section_properties

        try:
            props = section_properties(r, db["UNIT"]["1"])
        except (AnalysisError, ArithmeticError, TypeError, ValueError, AttributeError, KeyError, IndexError) as err:
            raise RequestRejected(str(err) or f"SECT {key}: Wrong Field") from err
        if not all(v > 1e-12 for v in props.values()):
            raise RequestRejected(f"SECT {key}: the dimensions give a section with no area or stiffness")
        return r

    def _check_thik(self, key, r, db):
        if not _num(r.get("T_IN")) or r["T_IN"] <= 0:
            raise RequestRejected(f"THIK {key}.T_IN must be a positive number")
        return r

    def _check_items(self, table, key, r, db, owner_table, owner_what, check_item):
        self._exists(db, owner_table, key, f"{table}: {owner_what}")
        items = r.get("ITEMS")
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise RequestRejected(f"{table} {key}.ITEMS must be a non-empty list of objects")
        for index, it in enumerate(items):
            check_item(it, f"{table} {key}.ITEMS[{index}]")
            it.setdefault("ID", index + 1)
            it.setdefault("GROUP_NAME", "")
        return r

    def _check_cons(self, key, r, db):
        def item(it, where):
            it["CONSTRAINT"] = _flags(it.get("CONSTRAINT"), f"{where}.CONSTRAINT")
        return self._check_items("CONS", key, r, db, "NODE", "node", item)

    def _check_nspr(self, key, r, db):
        def item(it, where):
            sdr = it.get("SDR")
            if (it.get("TYPE", "LINEAR") != "LINEAR" or not isinstance(sdr, list) or len(sdr) != 6
                    or not all(_num(v) and v >= 0 for v in sdr)):
                raise RequestRejected(f"{where}: a LINEAR spring needs SDR with 6 non-negative stiffnesses")
        return self._check_items("NSPR", key, r, db, "NODE", "node", item)

    def _check_frls(self, key, r, db):
        def item(it, where):
            if db["ELEM"][str(key)]["TYPE"] != "BEAM":
                raise RequestRejected(f"{where}: element {key} is not a beam")
            it["FLAG_I"] = _flags(it.get("FLAG_I"), f"{where}.FLAG_I")
            it["FLAG_J"] = _flags(it.get("FLAG_J"), f"{where}.FLAG_J")
        return self._check_items("FRLS", key, r, db, "ELEM", "element", item)

    def _check_stld(self, key, r, db):
        name = self._need(r, "NAME", "str", "STLD")
        if not isinstance(r.get("TYPE"), str) or r.get("TYPE") not in STLD_TYPES:
            raise RequestRejected(f"STLD.TYPE must be a load type code such as D, L, W, E; got {r.get('TYPE')!r}")
        if name in {x["NAME"] for k, x in db.get("STLD", {}).items() if k != key}:
            raise RequestRejected(f"load case name '{name}' already exists")
        r.setdefault("DESC", "")
        return r

    def _check_bodf(self, key, r, db):
        self._case_exists(db, r.get("LCNAME"), "BODF")
        fv = r.get("FV")
        if not isinstance(fv, list) or len(fv) != 3 or not all(_num(v) for v in fv):
            raise RequestRejected("BODF.FV must be three numbers [X, Y, Z]")
        return r

    def _check_cnld(self, key, r, db):
        def item(it, where):
            self._case_exists(db, it.get("LCNAME"), where)
            for comp in ("FX", "FY", "FZ", "MX", "MY", "MZ"):
                if not _num(it.setdefault(comp, 0)):
                    raise RequestRejected(f"{where}.{comp} must be a number")
        return self._check_items("CNLD", key, r, db, "NODE", "node", item)

    def _check_bmld(self, key, r, db):
        def item(it, where):
            self._case_exists(db, it.get("LCNAME"), where)
            if db["ELEM"][str(key)]["TYPE"] not in ("BEAM", "TRUSS"):
                raise RequestRejected(f"{where}: element {key} is not a beam")
            if it.get("TYPE") not in ("UNILOAD", "CONLOAD"):
                raise RequestRejected(f"{where}.TYPE: the sandbox simulates UNILOAD and CONLOAD, got {it.get('TYPE')!r}")
            if it.get("DIRECTION") not in ("GX", "GY", "GZ", "LX", "LY", "LZ"):
                raise RequestRejected(f"{where}.DIRECTION must be GX, GY, GZ, LX, LY or LZ")
            d, p = it.get("D"), it.get("P")
            if not (isinstance(d, list) and isinstance(p, list) and len(d) == 4 and len(p) == 4
                    and all(_num(v) for v in d + p) and all(0 <= v <= 1 for v in d)):
                raise RequestRejected(f"{where}: D must be 4 relative distances in [0, 1] and P 4 numbers")
        return self._check_items("BMLD", key, r, db, "ELEM", "element", item)

    def _check_pres(self, key, r, db):
        def item(it, where):
            self._case_exists(db, it.get("LCNAME"), where)
            if db["ELEM"][str(key)]["TYPE"] not in ("PLATE", "WALL"):
                raise RequestRejected(f"{where}: element {key} is not a plate")
            if "DIRECTION" not in it:
                raise RequestRejected(f"{where}.DIRECTION is required")
            forces = it.get("FORCES")
            if not isinstance(forces, list) or not forces or not _num(forces[0]):
                raise RequestRejected(f"{where}.FORCES must start with the pressure value")
        return self._check_items("PRES", key, r, db, "ELEM", "element", item)

    def _check_fbld(self, key, r, db):
        self._need(r, "NAME", "str", "FBLD")
        items = r.get("ITEM")
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise RequestRejected("FBLD.ITEM must list at least one load case (objects with LCNAME and FLOOR_LOAD)")
        for it in items:
            self._case_exists(db, it.get("LCNAME"), "FBLD.ITEM")
            self._need(it, "FLOOR_LOAD", "num", "FBLD.ITEM")
        return r

    def _check_fbla(self, key, r, db):
        floor_types = {x["NAME"] for x in db.get("FBLD", {}).values()}
        if not isinstance(r.get("FLOOR_LOAD_TYPE_NAME"), str) or r["FLOOR_LOAD_TYPE_NAME"] not in floor_types:
            raise RequestRejected(f"FBLA: floor load type '{r.get('FLOOR_LOAD_TYPE_NAME')}' does not exist")
        nodes = r.get("NODES")
        if (not isinstance(nodes, list) or not all(_hashable(n) for n in nodes) or len(set(nodes)) < 3
                or len(set(nodes)) != len(nodes)):
            raise RequestRejected("FBLA.NODES must list at least 3 different nodes")
        for n in nodes:
            self._exists(db, "NODE", n, "FBLA: node")
        from .solver import _polygon_area_xy

        if _polygon_area_xy([[db["NODE"][str(n)]["X"], db["NODE"][str(n)]["Y"]] for n in nodes]) < 1e-9:
            raise RequestRejected("FBLA.NODES enclose no area in plan")
        return r

    def _check_stor(self, key, r, db):
        self._need(r, "STORY_NAME", "str", f"STOR {key}")
        self._need(r, "STORY_LEVEL", "num", f"STOR {key}")
        return r

    def _story_forces(self, table, entries, key, r, db):
        self._exists(db, "STLD", key, f"{table}: static load case number")
        names = {x["STORY_NAME"] for x in db.get("STOR", {}).values()}
        if not isinstance(r.get(entries, []), list) or not all(isinstance(e, dict) for e in r.get(entries) or []):
            raise RequestRejected(f"{table}.{entries} must be a list of objects")
        for entry in r.get(entries) or []:
            if not _in(entry.get("STORY_NAME"), names):
                raise RequestRejected(f"{table}: story '{entry.get('STORY_NAME')}' does not exist")
        return r

    def _check_swind(self, key, r, db):
        return self._story_forces("SWIND", "ADDITIONAL_LOAD", key, r, db)

    def _check_sseis(self, key, r, db):
        return self._story_forces("SSEIS", "SEISMIC_FORCE", key, r, db)

    def _check_lcom_gen(self, key, r, db):
        name = self._need(r, "NAME", "str", "LCOM-GEN")
        if name in {x["NAME"] for k, x in db.get("LCOM-GEN", {}).items() if k != key}:
            raise RequestRejected(f"load combination name '{name}' already exists")
        if r.get("iTYPE", 0) not in (0, 1, 2, 3):
            raise RequestRejected("LCOM-GEN.iTYPE must be 0 (add), 1 (envelope), 2 (ABS) or 3 (SRSS)")
        terms = r.get("vCOMB")
        if not isinstance(terms, list) or not terms or not all(isinstance(t, dict) for t in terms):
            raise RequestRejected("LCOM-GEN.vCOMB must list at least one load case")
        for t in terms:
            if t.get("ANAL", "ST") == "ST":
                self._case_exists(db, t.get("LCNAME"), "LCOM-GEN.vCOMB")
            elif t.get("ANAL") == "CB":
                if not isinstance(t.get("LCNAME"), str) or t["LCNAME"] not in {x["NAME"] for x in db.get("LCOM-GEN", {}).values()}:
                    raise RequestRejected(f"LCOM-GEN.vCOMB: combination '{t.get('LCNAME')}' does not exist")
            else:
                raise RequestRejected(f"LCOM-GEN.vCOMB: ANAL {t.get('ANAL')!r} is not simulated (ST and CB are)")
            self._need(t, "FACTOR", "num", "LCOM-GEN.vCOMB")
        r.setdefault("ACTIVE", "ACTIVE")
        r.setdefault("iTYPE", 0)
        return r

    def _check_grup(self, key, r, db):
        self._need(r, "NAME", "str", f"GRUP {key}")
        for field in ("N_LIST", "E_LIST"):
            if not isinstance(r.get(field, []), list):
                raise RequestRejected(f"GRUP {key}.{field} must be a list of numbers")
        for n in r.get("N_LIST", []):
            self._exists(db, "NODE", n, "GRUP: node")
        for e in r.get("E_LIST", []):
            self._exists(db, "ELEM", e, "GRUP: element")
        return r

    # ------------------------------------------------------------ /doc, /ope, /post, /view, /config

    def _doc(self, method, item, ids, body):
        if method != "POST":
            raise RequestRejected(f"/doc/{item} accepts POST only")
        argument = (body or {}).get("Argument", {}) if isinstance(body, dict) else {}
        if item == "NEW":
            self.new_document()
            return dict(COMPLETE)
        if item in ("SAVEAS", "SAVE", "OPEN"):
            if item == "SAVEAS" and not (isinstance(argument, str) and argument.strip()):
                raise RequestRejected("SAVEAS needs the file path as its Argument, e.g. {\"Argument\": \"C:\\\\work\\\\frame.mgbx\"}")
            path = argument if isinstance(argument, str) and argument else self.path
            if item == "SAVE" and not path:
                raise RequestRejected("the model has no file yet: use SAVEAS with a path")
            if item == "OPEN":
                if path not in self.saved:
                    raise RequestRejected(f"File not found: {argument}")
                self.db = copy.deepcopy(self.saved[path])
                self.results = None
            else:
                self.saved[path] = copy.deepcopy(self.db)
            self.path = path
            return dict(COMPLETE)
        if item == "ANAL":
            try:
                results = analyse(self.db)
                combos = {r["NAME"]: r for r in self.table("LCOM-GEN").values()}
                self.results = {"ST": results, "CB": combine(results, combos)}
            except AnalysisError as err:
                self.results = None
                raise RequestRejected(str(err)) from err
            except (ArithmeticError, ValueError, KeyError, IndexError) as err:  # a model the solver cannot take
                self.results = None
                raise RequestRejected(f"Analysis failed: {type(err).__name__}: {err}") from err
            return dict(COMPLETE)
        if item == "CLOSE":
            self.new_document()
            return dict(COMPLETE)
        raise RequestRejected(f"the sandbox does not simulate /doc/{item}")

    def _ope(self, method, item, ids, body):
        if item == "PROJECTSTATUS":
            return {"PROJECTSTATUS": self.summary()}
        if item == "STOR" and method == "POST":
            levels = sorted({round(n["Z"], 6) for n in self.table("NODE").values()})
            if not levels:
                raise RequestRejected("there are no nodes to take story levels from")
            staged = copy.deepcopy(self.db)
            staged["STOR"] = {str(i + 1): {"STORY_NAME": f"{i + 1}F", "STORY_LEVEL": z, "bFLOOR_DIAPHRAGM": i > 0}
                              for i, z in enumerate(levels)}
            self._commit(staged, "POST /ope/STOR")
            return dict(COMPLETE)
        raise RequestRejected(f"the sandbox does not simulate /ope/{item}")

    def _post(self, method, item, ids, body):
        if item != "TABLE" or method != "POST":
            raise RequestRejected(f"the sandbox does not simulate /post/{item}")
        argument = (body or {}).get("Argument") if isinstance(body, dict) else None
        if not isinstance(argument, dict) or "TABLE_TYPE" not in argument:
            raise RequestRejected("Argument.TABLE_TYPE is required")
        try:
            return result_table(self, argument)
        except TableError as err:
            raise RequestRejected(str(err)) from err

    def _view(self, method, item, ids, body):
        # The sandbox has no screen: view commands are accepted and change nothing.
        return {**COMPLETE, "note": "sandbox: no graphics window, the view command has no effect"}

    def _config(self, method, item, ids, body):
        if item == "VER":
            return {"VER": {"NAME": "MIDAS GEN NX", "VERSION": "course sandbox", "USER": "learner"}}
        raise RequestRejected(f"the sandbox does not simulate /config/{item}")
