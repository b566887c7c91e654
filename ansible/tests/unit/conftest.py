# pytest setup for the collection's unit tests: the modules import their module_utils as
# ansible_collections.livepatchd.agent..., so the collection is put on sys.path under that name.
import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.abspath(os.path.join(HERE, "..", ".."))
FIXTURES = os.path.join(HERE, "fixtures")


def _collection_root(tmp_root):
    ns = os.path.join(tmp_root, "ansible_collections", "livepatchd")
    os.makedirs(ns, exist_ok=True)
    link = os.path.join(ns, "agent")
    if not os.path.islink(link):
        os.symlink(COLLECTION, link)
    return tmp_root


ROOT = _collection_root(os.path.join(os.environ.get("TMPDIR", "/tmp"), "livepatchd-agent-pytest-%d" % os.getuid()))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def load_fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


@pytest.fixture
def fixture():
    return load_fixture


@pytest.fixture
def collection_root():
    return ROOT
