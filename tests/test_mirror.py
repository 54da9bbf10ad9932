"""A replica's corpus folder made the same as the files the store keeps, losing nothing of its own."""

import os

from retrieval import mirror
from retrieval.corpus import fingerprint


def _files_of(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and mirror.ASIDE not in p.parts}


def test_a_mirrored_folder_holds_the_same_files_and_fingerprint(corpus_dir, tmp_path):
    (corpus_dir / "sub").mkdir()
    (corpus_dir / "sub" / "nested.txt").write_text("عنوان\n\nنص المقال هنا.\n", encoding="utf-8")
    stored = mirror.folder_files(corpus_dir)
    assert "metadata.toml" in {f.name for f in stored} and "sub/nested.txt" in {f.name for f in stored}

    replica = tmp_path / "replica"
    replica.mkdir()
    plan = mirror.plan(replica, stored)
    mirror.apply(replica, plan, {f.name: f.data for f in stored})
    assert _files_of(replica) == _files_of(corpus_dir)
    # modification times travel too: the replica's folder fingerprint is the builder's (no rebuild at start)
    assert fingerprint(replica) == fingerprint(corpus_dir)
    assert not mirror.plan(replica, stored)  # nothing left to do


def test_only_changed_files_are_written_and_extra_files_are_moved_aside(corpus_dir, tmp_path):
    stored = mirror.folder_files(corpus_dir)
    replica = tmp_path / "replica"
    replica.mkdir()
    mirror.apply(replica, mirror.plan(replica, stored), {f.name: f.data for f in stored})
    changed = stored[0].name
    (replica / changed).write_text("نسخة محلية مختلفة\n", encoding="utf-8")
    (replica / "local-only.txt").write_text("ملف لم يُنشر\n", encoding="utf-8")
    same = stored[1].name
    os.utime(replica / same, ns=(1, 1))

    plan = mirror.plan(replica, stored)
    assert [f.name for f in plan.write] == [changed]
    assert [p.name for p in plan.aside] == ["local-only.txt"]
    assert [f.name for f in plan.touch] == [same]
    mirror.apply(replica, plan, {changed: next(f.data for f in stored if f.name == changed)})

    assert _files_of(replica) == _files_of(corpus_dir)
    kept = list((replica / mirror.ASIDE).rglob("local-only.txt"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == "ملف لم يُنشر\n"  # moved, not deleted
