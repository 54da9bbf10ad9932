"""The engine: reuse of the stored index, safe reloads, uploads and removals."""

import asyncio
import json
import os

import pytest

from retrieval import Engine, ReloadError, UploadError
from retrieval.engine import safe_filename

NEW_ARTICLE = ("مصر تفتتح محطة طاقة شمسية عملاقة في أسوان\n\n"
               "أسوان، 5 مايو (رويترز) — افتتحت مصر محطة بنبان للطاقة الشمسية بقدرة 1650 ميغاواط. "
               "وقال وزير الكهرباء إن المحطة ستزود مليون منزل بالكهرباء.\n")


async def test_open_builds_then_reuses_the_stored_index(tmp_path, corpus_dir):
    e = await Engine.open(tmp_path / "db.sqlite3", corpus_dir)
    assert not e.last_report.reused and e.info().documents == 5
    first = e.ask("ماذا نشر البيت الأبيض؟")
    await e.close()
    e = await Engine.open(tmp_path / "db.sqlite3", corpus_dir)
    assert e.last_report.reused
    assert e.ask("ماذا نشر البيت الأبيض؟") == first
    await e.close()


async def test_an_index_built_by_other_analysis_rules_is_rebuilt_on_open(tmp_path, corpus_dir, monkeypatch):
    # After an upgrade that analyses text differently, the stored index no longer matches the
    # questions' terms: it must be rebuilt even though the corpus folder is unchanged.
    from retrieval import corpus
    e = await Engine.open(tmp_path / "db.sqlite3", corpus_dir)
    await e.close()
    monkeypatch.setattr(corpus, "_indexing_code", lambda: b"the next version's rules")
    e = await Engine.open(tmp_path / "db.sqlite3", corpus_dir)
    assert not e.last_report.reused
    await e.close()
    e = await Engine.open(tmp_path / "db.sqlite3", corpus_dir)
    assert e.last_report.reused  # and once rebuilt, reused again
    await e.close()


async def test_a_changed_folder_is_rebuilt_on_open(tmp_path, corpus_dir):
    e = await Engine.open(tmp_path / "db.sqlite3", corpus_dir)
    await e.close()
    (corpus_dir / "solar.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    e = await Engine.open(tmp_path / "db.sqlite3", corpus_dir)
    assert not e.last_report.reused and e.info().documents == 6
    assert e.ask("ما قدرة محطة بنبان؟").answered
    await e.close()


async def test_reload_picks_up_new_files(engine, corpus_dir):
    assert not engine.ask("ما قدرة محطة بنبان للطاقة الشمسية؟").answered
    (corpus_dir / "solar.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    report = await engine.reload()
    assert report.documents == 6 and report.sentences == engine.info().sentences
    a = engine.ask("ما قدرة محطة بنبان للطاقة الشمسية؟")
    assert a.answered and "1650" in a.extracts[0].text and a.extracts[0].doc.source == "رويترز"


async def test_a_failed_reload_keeps_the_old_corpus_serving(engine, corpus_dir):
    before = engine.info()
    for f in corpus_dir.glob("*.txt"):
        f.write_bytes(b"\x00binary " + f.name.encode())
    with pytest.raises(ReloadError) as err:
        await engine.reload()
    reasons = [reason for file, reason in err.value.report.skipped if file.endswith(".txt")]
    assert len(reasons) == 5 and all("binary" in r for r in reasons)
    assert engine.info() == before and engine.ask("ماذا نشر البيت الأبيض؟").answered


async def test_an_unusable_folder_at_start_serves_the_stored_corpus(tmp_path, corpus_dir):
    e = await Engine.open(tmp_path / "db.sqlite3", corpus_dir)
    await e.close()
    for f in corpus_dir.glob("*.txt"):
        f.unlink()
    e = await Engine.open(tmp_path / "db.sqlite3", corpus_dir)
    assert e.info().documents == 5
    await e.close()


async def test_questions_are_answered_while_a_reload_runs(engine, corpus_dir):
    (corpus_dir / "solar.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    reload = asyncio.create_task(engine.reload())
    answered = 0
    while not reload.done():
        answered += engine.ask("ماذا نشر البيت الأبيض؟").answered
        await asyncio.sleep(0)
    await reload
    assert answered >= 1


async def test_upload_adds_an_answerable_document(engine, corpus_dir):
    report = await engine.add_file("solar.txt", NEW_ARTICLE.encode(), max_bytes=100_000)
    assert report.documents == 6 and (corpus_dir / "solar.txt").read_text(encoding="utf-8") == NEW_ARTICLE
    assert engine.ask("كم منزلا ستزود محطة بنبان بالكهرباء؟").answered
    assert not [p for p in corpus_dir.iterdir() if p.name.startswith(".upload-")]


async def test_upload_of_a_jsonl_archive(engine):
    lines = [json.dumps({"id": "n1", "title": "خبر", "source": "واس", "date": "2024-05-01",
                         "text": "أعلنت وزارة الزراعة زراعة عشرة ملايين شجرة في الرياض."}, ensure_ascii=False)]
    await engine.add_file("archive.jsonl", "\n".join(lines).encode(), max_bytes=100_000)
    e = engine.ask("كم شجرة زرعت وزارة الزراعة في الرياض؟").extracts[0]
    assert e.doc.id == "n1" and e.doc.source == "واس"
    await engine.remove_document("n1")
    assert not engine.ask("كم شجرة زرعت وزارة الزراعة في الرياض؟").answered


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd.txt", "a/b.txt", "a\\b.txt", "nul\x00.txt", ".hidden.txt",
                                  "CON.txt", "x.exe", "x.txt.sh", "", "..", "a" * 200 + ".txt"])
def test_unsafe_file_names_are_refused(name):
    with pytest.raises(UploadError):
        safe_filename(name)


def test_ordinary_file_names_pass():
    for name in ("news.txt", "أخبار اليوم.txt", "archive-2024_05.jsonl", "report (1).txt", "التقرير السنوي.pdf",
                 "guide.docx", "127.0.0.1-page.html", "old.htm"):
        assert safe_filename(name) == name


@pytest.mark.parametrize("data, reason", [
    (b"\xff\xfe bad", "UTF-8"), (b"PK\x03\x04\x00\x00", "binary"), (b"   ", "empty"),
    ("زر الذهاب إلى الأعلى\n".encode(), "boilerplate"),
])
async def test_bad_uploads_are_refused_and_nothing_is_written(engine, corpus_dir, data, reason):
    before = sorted(os.listdir(corpus_dir))
    with pytest.raises(UploadError, match=reason):
        await engine.add_file("new.txt", data, max_bytes=100_000)
    assert sorted(os.listdir(corpus_dir)) == before


async def test_oversized_and_malformed_jsonl_uploads_are_refused(engine):
    with pytest.raises(UploadError, match="too large"):
        await engine.add_file("big.txt", NEW_ARTICLE.encode() * 100, max_bytes=1000)
    with pytest.raises(UploadError, match="line 1"):
        await engine.add_file("bad.jsonl", b"{oops", max_bytes=1000)


async def test_remove_document(engine, corpus_dir):
    report = await engine.remove_document("003_8a64b5d3bad4b392")
    assert report.documents == 4 and not (corpus_dir / "003_8a64b5d3bad4b392.txt").exists()
    with pytest.raises(KeyError):
        await engine.remove_document("no-such-doc")


async def test_context_is_the_paragraph_around_an_extract(engine):
    e = engine.ask("ماذا نشر البيت الأبيض؟").extracts[0]
    ctx = engine.context(e.position)
    a, b = ctx.highlight
    assert ctx.text[a:b] == e.text and ctx.paragraph == e.paragraph
    assert engine.context(10**9) is None and engine.context(-1) is None


def _record(text: str, **fields: str) -> str:
    return json.dumps({**fields, "text": text}, ensure_ascii=False)


TREES = "أعلنت وزارة الزراعة زراعة عشرة ملايين شجرة في الرياض."
SEP_TEXT = "قال المتحدث\u2028إن القمة ستعقد في الدوحة\u0085الأسبوع المقبل بحضور وزراء الخارجية."
DAMS = "افتتحت الحكومة سدا جديدا على نهر النيل لتخزين مياه الأمطار للزراعة."


async def test_remove_from_an_archive_with_line_separators_inside_records_removes_only_that_record(engine, corpus_dir):
    """Issue 13.1: U+2028 / U+0085 inside JSON text are not line ends; the other records stay byte for byte."""
    lines = [_record(SEP_TEXT, id="sep"), _record(TREES, id="drop-me"), _record(DAMS, id="dams")]
    data = ("\n".join(lines) + "\n").encode()
    await engine.add_file("archive.jsonl", data, max_bytes=100_000)  # a valid archive is accepted
    assert {"sep", "drop-me", "dams"} <= {d.id for d in engine.snapshot.documents}
    report = await engine.remove_document("drop-me")
    assert report.documents == 7
    ids = {d.id for d in engine.snapshot.documents}
    assert {"sep", "dams"} <= ids and "drop-me" not in ids
    assert (corpus_dir / "archive.jsonl").read_bytes() == (lines[0] + "\n\n" + lines[2] + "\n").encode()
    assert next(d for d in engine.snapshot.documents if d.id == "sep").text == SEP_TEXT


async def test_remove_a_record_without_id_and_a_qualified_id(engine, corpus_dir):
    """Issue 13.2: records without an id (served as file-line) and ids qualified after a clash are removable."""
    (corpus_dir / "noid.jsonl").write_text("\n".join([_record(SEP_TEXT), _record(TREES), _record(DAMS)]) + "\n",
                                           encoding="utf-8")
    (corpus_dir / "clash.jsonl").write_text(_record(DAMS + " وقال الوزير إن السد يخدم القرى.", id="noid-3") + "\n",
                                            encoding="utf-8")
    await engine.reload()
    ids = {d.id for d in engine.snapshot.documents}
    assert {"noid-1", "noid-2", "noid-3", "noid.jsonl#noid-3"} <= ids or {"noid-3", "clash.jsonl#noid-3"} <= ids
    before = len(engine.snapshot.documents)
    await engine.remove_document("noid-2")
    after = {d.id for d in engine.snapshot.documents}
    assert len(after) == before - 1 and "noid-2" not in after and {"noid-1", "noid-3"} <= after
    qualified = next(i for i in after if i.endswith("#noid-3"))
    await engine.remove_document(qualified)
    assert len(engine.snapshot.documents) == before - 2 and "noid-3" in {d.id for d in engine.snapshot.documents}


async def test_remove_of_a_record_no_longer_in_its_file_says_nothing_was_removed(engine, corpus_dir):
    (corpus_dir / "a.jsonl").write_text(_record(TREES, id="t") + "\n", encoding="utf-8")
    await engine.reload()
    (corpus_dir / "a.jsonl").write_text(_record(DAMS, id="t") + "\n", encoding="utf-8")  # edited behind our back
    with pytest.raises(ReloadError, match="nothing was removed"):
        await engine.remove_document("t")
    assert (corpus_dir / "a.jsonl").read_text(encoding="utf-8") == _record(DAMS, id="t") + "\n"


async def test_upload_never_replaces_an_existing_file_or_reuses_an_id(engine, corpus_dir):
    """Issue 13.3: an upload under an existing name, or with an id in use, is refused and nothing changes."""
    name = "003_8a64b5d3bad4b392.txt"
    original = (corpus_dir / name).read_bytes()
    with pytest.raises(UploadError, match="already in the corpus"):
        await engine.add_file(name, NEW_ARTICLE.encode(), max_bytes=100_000)
    assert (corpus_dir / name).read_bytes() == original
    with pytest.raises(UploadError, match="003_8a64b5d3bad4b392 is already used"):
        await engine.add_file("x.jsonl", (_record(TREES, id="003_8a64b5d3bad4b392") + "\n").encode(), max_bytes=10_000)
    with pytest.raises(UploadError, match="reuses the id"):
        await engine.add_file("y.jsonl", (_record(TREES, id="a") + "\n" + _record(DAMS, id="a")).encode(), max_bytes=10_000)
    assert not (corpus_dir / "x.jsonl").exists() and not (corpus_dir / "y.jsonl").exists()


async def test_an_id_reused_outside_uploads_renames_only_the_newcomer(engine, corpus_dir):
    (corpus_dir / "zz.jsonl").write_text(_record(TREES, id="003_8a64b5d3bad4b392") + "\n", encoding="utf-8")
    await engine.reload()
    ids = {d.id for d in engine.snapshot.documents}
    assert {"003_8a64b5d3bad4b392", "zz.jsonl#003_8a64b5d3bad4b392"} <= ids
    await engine.remove_document("003_8a64b5d3bad4b392")  # the original, under the id it always had
    assert not (corpus_dir / "003_8a64b5d3bad4b392.txt").exists() and (corpus_dir / "zz.jsonl").exists()


async def test_two_uploads_of_one_new_name_at_once_never_overwrite(engine, corpus_dir):
    first, second = NEW_ARTICLE.encode(), NEW_ARTICLE.replace("أسوان", "الأقصر").encode()
    results = await asyncio.gather(engine.add_file("solar.txt", first, max_bytes=100_000),
                                   engine.add_file("solar.txt", second, max_bytes=100_000), return_exceptions=True)
    refused = [r for r in results if isinstance(r, UploadError)]
    assert len(refused) == 1 and "already in the corpus" in refused[0].reason
    assert (corpus_dir / "solar.txt").read_bytes() == (first if isinstance(results[1], UploadError) else second)


# ---------------------------------------------------------------- PDF, Word and web pages

async def test_an_uploaded_pdf_answers_with_its_page(engine, corpus_dir):
    from tests.documents_corpus import FOLDER
    await engine.add_file("report.pdf", (FOLDER / "report.pdf").read_bytes(), max_bytes=1_000_000)
    e = engine.ask("ما نسبة الفاقد في شبكة التوزيع بعد استبدال الأنابيب؟").extracts[0]
    assert e.doc.file == "report.pdf" and e.page == 2 and "18 بالمئة" in e.text
    assert engine.context(e.position).page == 2


@pytest.mark.parametrize("name, data, reason", [
    ("scan.pdf", None, "no text layer"), ("broken.pdf", b"%PDF-1.4 junk", "PDF"), ("bad.docx", b"zip?", "Word"),
    ("empty.html", b"<html><body></body></html>", "no article text"),
])
async def test_an_unreadable_document_is_refused_and_nothing_is_written(engine, corpus_dir, name, data, reason):
    from tests.documents_corpus import FOLDER
    before = sorted(os.listdir(corpus_dir))
    with pytest.raises(UploadError, match=reason):
        await engine.add_file(name, data or (FOLDER / "scanned.pdf").read_bytes(), max_bytes=1_000_000)
    assert sorted(os.listdir(corpus_dir)) == before


async def test_a_fetched_page_is_added_with_its_address_as_the_link(engine, corpus_dir):
    from tests.documents_corpus import FOLDER
    from tests.local_http import serving
    page = (FOLDER / "news.html").read_bytes()
    with serving({"/air/page.html": (200, "text/html", page)}) as base:
        name, _ = await engine.add_url(f"{base}/air/page.html", max_bytes=100_000)
        again, _ = await engine.add_url(f"{base}/air/page.html", max_bytes=100_000)
    assert (name, again) == ("127.0.0.1-page.html", "127.0.0.1-page (2).html")
    e = engine.ask("كم رحلة أسبوعيا ستسير الشركة إلى طوكيو؟").extracts[0]
    assert e.doc.url == f"{base}/air/page.html" and e.doc.title == "رحلات مباشرة إلى طوكيو"
    assert (corpus_dir / name).read_bytes() == page


async def test_an_unreachable_address_is_refused_and_nothing_is_written(engine, corpus_dir):
    from tests.local_http import closed_port
    before = sorted(os.listdir(corpus_dir))
    with pytest.raises(UploadError, match="cannot be reached"):
        await engine.add_url(f"http://127.0.0.1:{closed_port()}/x.html", max_bytes=100_000)
    assert sorted(os.listdir(corpus_dir)) == before
