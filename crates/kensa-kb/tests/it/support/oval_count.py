"""Independent reading of SUSE and Oracle OVAL for the import tests.

Prints one JSON object: {"records": N, "skipped": M, "rows": [[id, namespace,
package, fixed-or-null, ksplice], ...]}. It walks each definition's criteria
structurally (the `criteria` holding a product criterion, and the package
criteria below it), not by expanding the tree as Kensa's importer does, and it
reads Oracle's criterion comments rather than its tests.
"""
import json
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://oval.mitre.org/XMLSchema/oval-definitions-5}"
LINUX = "{http://oval.mitre.org/XMLSchema/oval-definitions-5#linux}"


def local(tag):
    return tag.rsplit("}", 1)[-1]


def index(root):
    tests, objects, states = {}, {}, {}
    for el in root.iter():
        name = local(el.tag)
        if name == "rpminfo_test":
            obj = st = None
            for c in el:
                if local(c.tag) == "object":
                    obj = c.get("object_ref")
                if local(c.tag) == "state":
                    st = c.get("state_ref")
            tests[el.get("id")] = (obj, st, el.get("comment"))
        elif name == "rpminfo_object":
            for c in el:
                if local(c.tag) == "name":
                    objects[el.get("id")] = c.text.strip()
        elif name == "rpminfo_state":
            states[el.get("id")] = {local(c.tag): (c.get("operation"), (c.text or "").strip()) for c in el}
    return tests, objects, states


def suse(root):
    tests, objects, states = index(root)
    records = skipped = 0
    rows = set()

    def product(crit):
        t = tests.get(crit.get("test_ref"))
        if not t:
            return None
        name = objects.get(t[0])
        st = states.get(t[1], {})
        if name in ("sles-release", "sles-ltss-release"):
            return "sles:" + st["version"][1]
        if name == "sled-release":
            return "sled:" + st["version"][1]
        return None

    for d in root.iter(NS + "definition"):
        title = d.find(NS + "metadata/" + NS + "title").text.strip()
        vid = title.split()[0].rstrip(":")
        if re.match(r"(open)?SUSE-(RU|FU|OU)-", vid):
            skipped += 1
            continue
        found = set()
        for crit in d.iter(NS + "criteria"):
            products = [p for p in (product(c) for c in crit.findall(NS + "criterion")) if p]
            # a product may sit in an OR of its own, one level down
            for sub in crit.findall(NS + "criteria"):
                if sub.get("operator") == "OR":
                    products += [p for p in (product(c) for c in sub.findall(NS + "criterion")) if p]
            if not products:
                continue
            for c in crit.iter(NS + "criterion"):
                t = tests.get(c.get("test_ref"))
                name = objects.get(t[0])
                st = states.get(t[1], {})
                if name.endswith("-release"):
                    continue
                if "evr" in st:
                    fixed = st["evr"][1]
                elif st.get("version") == ("equals", "0"):
                    fixed = None
                else:
                    continue
                for p in products:
                    found.add((vid, p, name, fixed, False))
        if found:
            records += 1
            rows |= found
        else:
            skipped += 1
    return records, skipped, rows


def oracle(root):
    records = skipped = 0
    rows = set()
    for d in root.iter(NS + "definition"):
        title = d.find(NS + "metadata/" + NS + "title").text.strip()
        vid = title.split()[0].rstrip(":")
        if re.match(r"EL(BA|EA)-", vid):
            skipped += 1
            continue
        release = None
        for c in d.iter(NS + "criterion"):
            m = re.fullmatch(r"Oracle Linux (\d+) is installed", c.get("comment", ""))
            if m:
                release = m.group(1)
        found = set()
        for crit in d.iter(NS + "criteria"):
            comments = [c.get("comment", "") for c in crit.findall(NS + "criterion")]
            ksplice = any(c.endswith(" is ksplice-based") for c in comments)
            for c in comments:
                m = re.fullmatch(r"(\S+) is earlier than (\S+)", c)
                if m:
                    found.add((vid, "ol:" + release, m.group(1), m.group(2), ksplice))
        records += 1
        rows |= found
    return records, skipped, rows


def main():
    kind, paths = sys.argv[1], sys.argv[2:]
    total_r = total_s = 0
    rows = set()
    for p in paths:
        root = ET.parse(p).getroot()
        r, s, found = (suse if kind == "suse" else oracle)(root)
        total_r += r
        total_s += s
        rows |= found
    print(json.dumps({"records": total_r, "skipped": total_s, "rows": sorted(rows, key=str)}))


main()
