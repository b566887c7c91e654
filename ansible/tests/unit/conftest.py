# pytest setup for the collection's unit tests: the modules import their module_utils as
# ansible_collections.livepatchd.agent..., so the collection is put on sys.path under that name.
import atexit
import json
import os
import shutil
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.abspath(os.path.join(HERE, "..", ".."))
FIXTURES = os.path.join(HERE, "fixtures")


def _collection_root():
    # A fresh directory per run: a link kept from an earlier run may point at another checkout (or one since
    # removed), and the modules would then be imported from there, or not at all.
    root = tempfile.mkdtemp(prefix="livepatchd-agent-pytest-")
    atexit.register(shutil.rmtree, root, True)
    ns = os.path.join(root, "ansible_collections", "livepatchd")
    os.makedirs(ns)
    os.symlink(COLLECTION, os.path.join(ns, "agent"))
    return root


ROOT = _collection_root()
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
