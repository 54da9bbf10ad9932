"""Tests of the local Bot API test server itself (plain httpx and a real telegram.Bot)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, InvalidToken, RetryAfter

from botapi_fixtures import botapi_bot, botapi_server, botapi_server_strict  # noqa: F401
from botapi_server import BotAPIServer, parse_formatted_text, parse_html, utf16_len


# ------------------------------------------------------------------------ helpers


def api(server: BotAPIServer, method: str, *, token: str | None = None, http_timeout: float = 15.0, **params):
    """POST like PTB v22 does: form-urlencoded, nested values JSON-encoded."""
    data = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in params.items() if v is not None}
    r = httpx.post(f"{server.url}/bot{token or server.token}/{method}", data=data, timeout=http_timeout)
    return r.status_code, r.json()


@pytest.fixture
def srv(botapi_server):
    return botapi_server


@pytest.fixture
def alice(srv):
    return srv.user(111, "علي", username="ali")


@pytest.fixture
def dm(srv, alice):
    return srv.private(alice)


# ------------------------------------------------------------------ routing / auth


def test_auth_routing_and_request_encodings(srv, dm):
    assert api(srv, "getMe")[1]["result"]["username"] == srv.bot_username
    assert api(srv, "GETME")[1]["ok"]  # method names are case-insensitive
    code, body = api(srv, "getMe", token="123456:" + "A" * 35)
    assert (code, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    assert api(srv, "getMe", token="garbage")[0] == 404
    code, body = api(srv, "frobnicate")
    assert (code, body["description"]) == (404, "Not Found")
    assert httpx.get(f"{srv.url}/nothing").status_code == 404

    # JSON body, query string (GET) and multipart are accepted too
    r = httpx.post(f"{srv.url}/bot{srv.token}/sendMessage", json={"chat_id": dm["id"], "text": "json"})
    assert r.json()["result"]["text"] == "json"
    r = httpx.get(f"{srv.url}/bot{srv.token}/sendMessage", params={"chat_id": dm["id"], "text": "get"})
    assert r.json()["result"]["text"] == "get"
    r = httpx.post(f"{srv.url}/bot{srv.token}/sendDocument", data={"chat_id": str(dm["id"]), "caption": "c"},
                   files={"document": ("a.txt", b"hello", "text/plain")})
    doc = r.json()["result"]["document"]
    assert doc["file_name"] == "a.txt" and doc["file_size"] == 5
    assert srv.calls_to("sendDocument")[0].params["chat_id"] == dm["id"]  # normalised to int


def test_a_request_cut_short_by_a_dying_client_is_no_call(srv, dm):
    """A bot killed while writing a request leaves a body shorter than its Content-Length: api.telegram.org
    never sees it as a call, so neither does the test server (it was once recorded as one without params)."""
    import socket
    body = f"chat_id={dm['id']}&text=hello".encode()
    with socket.create_connection((srv.host, srv.port)) as s:
        s.sendall(f"POST /bot{srv.token}/sendMessage HTTP/1.1\r\nHost: x\r\n"
                  f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body) + 50}\r\n\r\n".encode()
                  + body)
        s.shutdown(socket.SHUT_WR)
        assert s.recv(100) == b""  # the server closes without an answer
    assert srv.sent == [] and srv.errors == []
    assert api(srv, "sendMessage", chat_id=dm["id"], text="after")[1]["ok"]


def test_unknown_chat_and_missing_text(srv, dm):
    assert api(srv, "sendMessage", chat_id=999, text="x")[1]["description"] == "Bad Request: chat not found"
    assert api(srv, "sendMessage", chat_id=dm["id"])[1]["description"] == "Bad Request: message text is empty"


# ------------------------------------------------------------------ HTML validation


def test_valid_html_entities_utf16_offsets(srv, dm):
    html = ('👍 <b>سند</b> &lt;x&gt; &amp; &quot;q&quot; &#1587;&#x644; <i>😀<u>é</u></i>\n'
            '<blockquote>اقتباس <b>مهم</b></blockquote>\n<blockquote expandable>مخفي</blockquote>\n'
            '<a href="https://example.org/a?b=1&amp;c=2">رابط</a> <code>a&lt;b</code> '
            '<pre><code class="language-python">x = 1</code></pre> <tg-spoiler>s</tg-spoiler> '
            '<span class="tg-spoiler">t</span> <s>del</s> <strong>B</strong> <em>E</em> <ins>I</ins>')
    code, body = api(srv, "sendMessage", chat_id=dm["id"], text=html, parse_mode="HTML")
    assert code == 200, body
    msg = body["result"]
    text = msg["text"]
    assert text.startswith('👍 سند <x> & "q" سل 😀é\nاقتباس مهم\nمخفي\nرابط a<b x = 1 s t del B E I')

    def frag(e):
        raw = text.encode("utf-16-le")[e["offset"] * 2:(e["offset"] + e["length"]) * 2]
        return raw.decode("utf-16-le")

    got = [(e["type"], frag(e)) for e in msg["entities"]]
    assert ("bold", "سند") in got
    assert ("italic", "😀é") in got and ("underline", "é") in got
    assert ("blockquote", "اقتباس مهم") in got and ("bold", "مهم") in got
    assert ("expandable_blockquote", "مخفي") in got
    assert ("text_link", "رابط") in got
    assert ("code", "a<b") in got and ("pre", "x = 1") in got
    assert ("spoiler", "s") in got and ("spoiler", "t") in got and ("strikethrough", "del") in got
    link = next(e for e in msg["entities"] if e["type"] == "text_link")
    assert link["url"] == "https://example.org/a?b=1&c=2"
    assert next(e for e in msg["entities"] if e["type"] == "pre")["language"] == "python"
    # the emoji is 2 UTF-16 units: "سند" starts at offset 3, not 2
    assert next(e for e in msg["entities"] if e["type"] == "bold")["offset"] == 3
    assert srv.rejected == []


@pytest.mark.parametrize("html, fragment", [
    ("<script>alert(1)</script>", 'Unsupported start tag "script" at byte offset 0'),
    ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
    ("x</b>", "Unexpected end tag at byte offset 1"),
    ("a < b", 'Unsupported start tag "" at byte offset 2'),
    ("a <b", "Unclosed start tag at byte offset 2"),
    ("<b>x</b", "Unclosed end tag at byte offset 4"),
    ("سؤال & جواب", 'Unescaped "&"'),
    ("1 > 0", 'Unescaped ">"'),
    ("&nbsp;", 'Unescaped "&"'),
    ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
    ('<a href="x>y', "Unclosed start tag"),
    ("<br/>", 'Unsupported start tag "br/"'),
    ("<p>x</p>", 'Unsupported start tag "p"'),
    ("<i><b>x</i></b>", "Unmatched end tag"),
    ("\u202b<b>نص</b", "Unclosed end tag"),
])
def test_bad_html_rejected(srv, dm, html, fragment):
    code, body = api(srv, "sendMessage", chat_id=dm["id"], text=html, parse_mode="HTML")
    assert code == 400
    assert body["description"].startswith("Bad Request: can't parse entities: ")
    assert fragment in body["description"]
    assert srv.rejected and srv.rejected[-1].method == "sendMessage"
    assert srv.messages_in(dm["id"]) == []


def test_lenient_mode_like_tdlib():
    assert parse_html("a & b > c", strict=False) == ("a & b > c", [])
    assert parse_html("&nbsp;", strict=False)[0] == "&nbsp;"


def test_nesting_rules_drop_like_telegram():
    text, ents = parse_formatted_text("<code><b>x</b></code> <blockquote>a<blockquote>b</blockquote></blockquote>",
                                      "HTML")
    assert text == "x ab"
    assert [e["type"] for e in ents] == ["code", "blockquote"]


@pytest.mark.parametrize("text", ["", "   \n ", "<b></b>", "<b> </b>\n"])
def test_empty_after_parsing(srv, dm, text):
    code, body = api(srv, "sendMessage", chat_id=dm["id"], text=text, parse_mode="HTML")
    assert (code, body["description"]) == (400, "Bad Request: message text is empty")


def test_4096_utf16_limit_on_visible_text(srv, dm):
    ok_html = "<blockquote><b>" + "س" * 4096 + "</b></blockquote>"
    assert len(ok_html) > 4096
    code, body = api(srv, "sendMessage", chat_id=dm["id"], text=ok_html, parse_mode="HTML")
    assert code == 200 and len(body["result"]["text"]) == 4096
    code, body = api(srv, "sendMessage", chat_id=dm["id"], text="<b>" + "س" * 4097 + "</b>", parse_mode="HTML")
    assert (code, body["description"]) == (400, "Bad Request: message is too long")
    # entities count as one visible character each
    assert api(srv, "sendMessage", chat_id=dm["id"], text="&amp;" * 4096, parse_mode="HTML")[0] == 200
    # emoji take two UTF-16 code units
    assert api(srv, "sendMessage", chat_id=dm["id"], text="😀" * 2048)[0] == 200
    assert api(srv, "sendMessage", chat_id=dm["id"], text="😀" * 2048 + "x")[1]["description"] == \
        "Bad Request: message is too long"
    # surrounding whitespace is trimmed before counting
    assert api(srv, "sendMessage", chat_id=dm["id"], text="\n " + "a" * 4096 + " \n")[0] == 200
    assert utf16_len("😀س") == 3


def test_markdown_v2(srv, dm):
    code, body = api(srv, "sendMessage", chat_id=dm["id"], text="*عريض* و _مائل_ \\. [ر](https://x.org)",
                     parse_mode="MarkdownV2")
    assert code == 200
    assert body["result"]["text"] == "عريض و مائل . ر"
    assert [e["type"] for e in body["result"]["entities"]] == ["bold", "italic", "text_link"]
    code, body = api(srv, "sendMessage", chat_id=dm["id"], text="نهاية.", parse_mode="MarkdownV2")
    assert code == 400 and "Character '.' is reserved" in body["description"]
    assert api(srv, "sendMessage", chat_id=dm["id"], text="x", parse_mode="Foo")[1]["description"] == \
        "Bad Request: unsupported parse_mode"


# --------------------------------------------------------------- keyboards and edits


def test_callback_data_limit_and_keyboard_validation(srv, dm):
    def send(markup):
        return api(srv, "sendMessage", chat_id=dm["id"], text="x", reply_markup=markup)

    ok = {"inline_keyboard": [[{"text": "المزيد", "callback_data": "m" * 64}]]}
    code, body = send(ok)
    assert code == 200 and body["result"]["reply_markup"] == ok
    assert send({"inline_keyboard": [[{"text": "x", "callback_data": "m" * 65}]]})[1]["description"] == \
        "Bad Request: BUTTON_DATA_INVALID"
    # 33 Arabic letters = 66 bytes in UTF-8: over the limit although only 33 characters
    assert send({"inline_keyboard": [[{"text": "x", "callback_data": "س" * 33}]]})[1]["description"] == \
        "Bad Request: BUTTON_DATA_INVALID"
    assert send({"inline_keyboard": [[{"text": "x"}]]})[0] == 400
    assert send({"inline_keyboard": [[{"text": "x", "url": "not a url"}]]})[0] == 400
    assert send("{nope")[1]["description"] == "Bad Request: can't parse reply keyboard markup JSON object"


def test_edit_delete_and_replies(srv, dm, alice):
    q = srv.send_text(dm, alice, "سؤال")
    kb = {"inline_keyboard": [[{"text": "👍", "callback_data": "f:1"}]]}
    code, body = api(srv, "sendMessage", chat_id=dm["id"], text="<b>جواب</b>", parse_mode="HTML",
                     reply_parameters={"message_id": q["message_id"]}, reply_markup=kb)
    m = body["result"]
    assert m["reply_to_message"]["message_id"] == q["message_id"] and m["from"]["id"] == srv.bot_id
    assert m["message_id"] == q["message_id"] + 1  # per-chat counter shared with user messages
    same = dict(chat_id=dm["id"], message_id=m["message_id"], text="<b>جواب</b>", parse_mode="HTML", reply_markup=kb)
    code, body = api(srv, "editMessageText", **same)
    assert code == 400 and body["description"].startswith("Bad Request: message is not modified")
    code, body = api(srv, "editMessageText", **dict(same, text="<i>جواب</i>"))
    assert code == 200 and body["result"]["entities"][0]["type"] == "italic" and "edit_date" in body["result"]
    assert srv.messages_in(dm)[0]["entities"][0]["type"] == "italic"
    code, body = api(srv, "editMessageReplyMarkup", chat_id=dm["id"], message_id=m["message_id"])
    assert code == 200 and "reply_markup" not in body["result"]
    assert api(srv, "editMessageText", chat_id=dm["id"], message_id=999, text="x")[1]["description"] == \
        "Bad Request: message to edit not found"
    assert api(srv, "editMessageText", chat_id=dm["id"], message_id=q["message_id"], text="x")[1]["description"] == \
        "Bad Request: message can't be edited"
    assert api(srv, "sendMessage", chat_id=dm["id"], text="x", reply_parameters={"message_id": 999})[1][
        "description"] == "Bad Request: message to be replied not found"
    assert api(srv, "sendMessage", chat_id=dm["id"], text="x", reply_to_message_id=q["message_id"])[0] == 200
    assert api(srv, "deleteMessage", chat_id=dm["id"], message_id=m["message_id"])[1]["result"] is True
    assert api(srv, "deleteMessage", chat_id=dm["id"], message_id=m["message_id"])[1]["description"] == \
        "Bad Request: message to delete not found"


def test_callback_query_and_inline_query(srv, dm, alice):
    _, body = api(srv, "sendMessage", chat_id=dm["id"], text="x",
                  reply_markup={"inline_keyboard": [[{"text": "b", "callback_data": "more:1"}]]})
    with pytest.raises(ValueError):
        srv.press_button(body["result"], "forged")
    qid = srv.press_button(body["result"], "more:1", alice)
    upd = api(srv, "getUpdates")[1]["result"][-1]
    assert upd["callback_query"]["data"] == "more:1"
    assert upd["callback_query"]["message"]["message_id"] == body["result"]["message_id"]
    assert api(srv, "answerCallbackQuery", callback_query_id=qid, text="تم")[1]["result"] is True
    assert srv.callback_answer(qid)["text"] == "تم"
    assert api(srv, "answerCallbackQuery", callback_query_id=qid)[1]["description"].startswith(
        "Bad Request: query is too old")
    srv.press_button(body["result"], "anything", alice, check=False)  # forged data on purpose

    iq = srv.inline_query(alice, "ما هو")
    art = {"type": "article", "id": "r1", "title": "t",
           "input_message_content": {"message_text": "<b>x</b>", "parse_mode": "HTML"}}
    assert api(srv, "answerInlineQuery", inline_query_id=iq, results=[dict(art, id="x" * 65)])[1][
        "description"] == "Bad Request: RESULT_ID_INVALID"
    assert api(srv, "answerInlineQuery", inline_query_id=iq, results=[dict(art, id=str(i)) for i in range(51)])[1][
        "description"] == "Bad Request: RESULTS_TOO_MUCH"
    bad = dict(art, input_message_content={"message_text": "<b>x", "parse_mode": "HTML"})
    assert "can't parse entities" in api(srv, "answerInlineQuery", inline_query_id=iq, results=[bad])[1]["description"]
    assert api(srv, "answerInlineQuery", inline_query_id=iq, results=[art, dict(art, id="r2")])[1]["result"]
    assert [r["id"] for r in srv.inline_answer(iq)["results"]] == ["r1", "r2"]
    msg = srv.choose_inline_result(iq, "r1", srv.group(-5, "g"))
    assert msg["text"] == "x" and msg["via_bot"]["id"] == srv.bot_id
    assert api(srv, "answerInlineQuery", inline_query_id=iq, results=[art])[0] == 400  # answered already


def test_commands_per_scope_and_misc(srv, dm, alice):
    grp = srv.supergroup(-1001, "مجموعة")
    cmds = [{"command": "ask", "description": "اسأل"}]
    assert api(srv, "setMyCommands", commands=cmds, scope={"type": "all_group_chats"})[1]["result"]
    assert api(srv, "setMyCommands", commands=cmds[:0] + [{"command": "reload", "description": "x"}],
               scope={"type": "chat", "chat_id": dm["id"]}, language_code="ar")[1]["result"]
    assert srv.commands({"type": "all_group_chats"}) == cmds
    assert srv.commands() == []
    assert srv.commands({"type": "chat", "chat_id": dm["id"]}, "ar")[0]["command"] == "reload"
    assert api(srv, "getMyCommands", scope={"type": "all_group_chats"})[1]["result"] == cmds
    assert api(srv, "setMyCommands", commands=[{"command": "Ask!", "description": "x"}])[0] == 400
    assert api(srv, "deleteMyCommands", scope={"type": "all_group_chats"})[1]["result"]
    assert srv.commands({"type": "all_group_chats"}) == []
    assert api(srv, "sendChatAction", chat_id=dm["id"], action="typing")[1]["result"] is True
    assert api(srv, "sendChatAction", chat_id=dm["id"], action="dancing")[0] == 400
    assert api(srv, "setMyDescription", description="وصف")[1]["result"] is True
    assert api(srv, "setMyShortDescription", short_description="قصير")[1]["result"] is True
    srv.set_admins(grp, [alice["id"]], owner_id=222)
    assert api(srv, "getChatMember", chat_id=grp["id"], user_id=alice["id"])[1]["result"]["status"] == "administrator"
    assert api(srv, "getChatMember", chat_id=grp["id"], user_id=333)[1]["result"]["status"] == "left"
    admins = api(srv, "getChatAdministrators", chat_id=grp["id"])[1]["result"]
    assert {a["status"] for a in admins} == {"administrator", "creator"}
    assert api(srv, "getChat", chat_id=grp["id"])[1]["result"]["type"] == "supergroup"


# ------------------------------------------------------------------ updates


def test_offset_semantics(srv, dm, alice):
    for i in range(3):
        srv.send_text(dm, alice, f"m{i}")
    ups = api(srv, "getUpdates")[1]["result"]
    assert [u["message"]["text"] for u in ups] == ["m0", "m1", "m2"]
    ids = [u["update_id"] for u in ups]
    assert api(srv, "getUpdates", offset=ids[1], limit=1)[1]["result"][0]["update_id"] == ids[1]
    assert [u["update_id"] for u in api(srv, "getUpdates")[1]["result"]] == ids[1:]  # < offset confirmed
    assert api(srv, "getUpdates", offset=ids[-1] + 1)[1]["result"] == []
    srv.send_text(dm, alice, "a")
    srv.send_text(dm, alice, "b")
    assert [u["message"]["text"] for u in api(srv, "getUpdates", offset=-1)[1]["result"]] == ["b"]


def test_long_poll_wakes_up_on_injection(srv, dm, alice):
    result = {}

    # plain long poll with timeout=10
    def poll10():
        t0 = time.monotonic()
        r = httpx.post(f"{srv.url}/bot{srv.token}/getUpdates", data={"timeout": "10"}, timeout=15)
        result["resp"], result["elapsed"] = r.json(), time.monotonic() - t0

    t = threading.Thread(target=poll10)
    t.start()
    time.sleep(0.3)
    srv.send_text(dm, alice, "سؤال")
    t.join(5)
    assert not t.is_alive()
    assert result["resp"]["result"][0]["message"]["text"] == "سؤال"
    assert 0.2 < result["elapsed"] < 2
    # an empty long poll returns [] after its timeout
    t0 = time.monotonic()
    _, body = api(srv, "getUpdates", offset=result["resp"]["result"][0]["update_id"] + 1, timeout=1)
    assert body["result"] == [] and 0.9 < time.monotonic() - t0 < 3


def test_concurrent_getupdates_conflict(srv):
    out = {}

    def first():
        out["first"] = httpx.post(f"{srv.url}/bot{srv.token}/getUpdates", data={"timeout": "10"}, timeout=15)

    t = threading.Thread(target=first)
    t.start()
    time.sleep(0.3)
    code, body = api(srv, "getUpdates", timeout=0)
    t.join(5)
    assert code == 200
    assert out["first"].status_code == 409
    assert out["first"].json()["description"] == ("Conflict: terminated by other getUpdates request; "
                                                  "make sure that only one bot instance is running")


def test_conflict_policy_reject_new_and_disconnected_poll():
    with BotAPIServer(conflict_policy="reject_new") as s:
        # a poll whose client went away is not "pending" any more
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{s.url}/bot{s.token}/getUpdates", data={"timeout": "20"}, timeout=0.3)
        time.sleep(0.6)
        assert api(s, "getUpdates", timeout=0)[0] == 200
        t = threading.Thread(target=lambda: api(s, "getUpdates", timeout=1))
        t.start()
        time.sleep(0.3)
        code, body = api(s, "getUpdates", timeout=0)
        assert code == 409 and body["description"].startswith("Conflict: terminated by other getUpdates request")
        t.join(5)


def test_bot_message_auto_entities(srv, dm):
    _, body = api(srv, "sendMessage", chat_id=dm["id"], text="راجع https://example.org و /help <code>/x</code>",
                  parse_mode="HTML")
    assert [e["type"] for e in body["result"]["entities"]] == ["url", "bot_command", "code"]


def test_privacy_mode_and_auto_entities():
    with BotAPIServer(privacy_mode=True, bot_username="SanadBot") as s:
        g = s.group(-42, "g")
        s.send_text(g, 1, "كلام عادي")
        m = s.send_text(g, 1, "/ask@SanadBot ما هو؟")
        s.send_text(g, 1, "/ask@OtherBot x")
        s.send_text(g, 1, "يا @SanadBot سؤال")
        ups = api(s, "getUpdates")[1]["result"]
        assert [u["message"]["text"] for u in ups] == ["/ask@SanadBot ما هو؟", "يا @SanadBot سؤال"]
        assert m["entities"] == [{"type": "bot_command", "offset": 0, "length": 13}]
        assert ups[1]["message"]["entities"] == [{"type": "mention", "offset": 3, "length": 9}]
        assert api(s, "getMe")[1]["result"]["can_read_all_group_messages"] is False


def test_webhook_delivery(srv, dm, alice):
    got = []

    class H(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((self.headers.get("X-Telegram-Bot-Api-Secret-Token"), json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    hook = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{hook.server_address[1]}/hook"
        assert api(srv, "setWebhook", url=url, secret_token="s3cret")[1]["result"]
        assert api(srv, "getUpdates")[0] == 409
        srv.send_text(dm, alice, "عبر webhook")
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
        assert got and got[0][0] == "s3cret" and got[0][1]["message"]["text"] == "عبر webhook"
        assert api(srv, "getWebhookInfo")[1]["result"]["url"] == url
        assert api(srv, "deleteWebhook")[1]["result"]
    finally:
        hook.shutdown()
        hook.server_close()


def test_file_download_and_wait_for(srv, dm, alice):
    data = "نص عربي\n".encode() * 100
    m = srv.send_document(dm, alice, "مقال.txt", data, "text/plain")
    fid = m["document"]["file_id"]
    assert m["document"]["file_size"] == len(data)
    _, body = api(srv, "getFile", file_id=fid)
    path = body["result"]["file_path"]
    r = httpx.get(f"{srv.url}/file/bot{srv.token}/{path}")
    assert r.status_code == 200 and r.content == data
    assert httpx.get(f"{srv.url}/file/bot{srv.token}/documents/nope").status_code == 404
    assert httpx.get(f"{srv.url}/file/botWRONG/{path}").status_code == 404
    assert api(srv, "getFile", file_id="nope")[0] == 400

    mark = srv.mark()
    threading.Timer(0.2, lambda: api(srv, "sendMessage", chat_id=dm["id"], text="تم")).start()
    call = srv.wait_for(lambda c: c.text == "تم", 5, method="sendMessage", since=mark)
    assert call.ok and call.result["chat"]["id"] == dm["id"]
    with pytest.raises(TimeoutError):
        srv.wait_for(method="editMessageText", timeout=0.2)


def test_flood_control_raw(srv, dm):
    srv.flood(1, retry_after=1)
    code, body = api(srv, "sendMessage", chat_id=dm["id"], text="x")
    assert code == 429 and body["parameters"] == {"retry_after": 1}
    assert body["description"] == "Too Many Requests: retry after 1"
    assert api(srv, "sendMessage", chat_id=dm["id"], text="x")[0] == 200
    assert srv.rejected == []  # 429 is not a rejection


def test_context_manager_stops_promptly():
    with BotAPIServer() as s:
        t = threading.Thread(target=lambda: httpx.post(f"{s.url}/bot{s.token}/getUpdates", data={"timeout": "30"},
                                                       timeout=35))
        t.start()
        time.sleep(0.2)
    t0 = time.monotonic()
    t.join(5)
    assert not t.is_alive() and time.monotonic() - t0 < 5


# ---------------------------------------------------------- a real telegram.Bot


async def test_real_ptb_bot(botapi_server_strict, botapi_bot):
    srv, bot = botapi_server_strict, botapi_bot
    me = await bot.get_me()
    assert me.username == srv.bot_username and bot.username == srv.bot_username
    alice = srv.user(111, "علي")
    dm = srv.private(alice)
    q = srv.send_text(dm, alice, "ما هو السند؟")
    updates = await bot.get_updates(timeout=1)
    assert updates[0].message.text == "ما هو السند؟"
    assert updates[0].message.chat.type == "private"

    kb = InlineKeyboardMarkup([[InlineKeyboardButton("المزيد", callback_data="more:1"),
                                InlineKeyboardButton("👍", callback_data="fb:+")]])
    msg = await bot.send_message(dm["id"], "👍 <b>سند</b> <blockquote>نص &amp; مصدر</blockquote>",
                                 parse_mode=ParseMode.HTML, reply_markup=kb,
                                 reply_to_message_id=q["message_id"])
    assert msg.text == "👍 سند نص & مصدر"
    assert msg.entities[0].type == "bold" and msg.entities[0].offset == 3
    assert msg.parse_entity(msg.entities[0]) == "سند"
    assert msg.reply_markup.inline_keyboard[0][0].callback_data == "more:1"
    assert msg.reply_to_message.message_id == q["message_id"]
    call = srv.wait_for(method="sendMessage", timeout=1)
    assert call.params["parse_mode"] == "HTML" and call.params["reply_markup"]["inline_keyboard"]

    edited = await bot.edit_message_text("<i>تعديل</i>", chat_id=dm["id"], message_id=msg.message_id,
                                         parse_mode=ParseMode.HTML, reply_markup=kb)
    assert edited.text == "تعديل" and edited.edit_date is not None
    # like Telegram, an edit without reply_markup removes the keyboard
    assert srv.message(dm["id"], msg.message_id)["reply_markup"]["inline_keyboard"][0][0]["text"] == "المزيد"
    await bot.send_chat_action(dm["id"], "typing")
    await bot.set_my_commands([("ask", "اسأل")], scope=telegram.BotCommandScopeAllGroupChats())
    assert srv.commands({"type": "all_group_chats"}) == [{"command": "ask", "description": "اسأل"}]

    doc = srv.send_document(dm, alice, "a.txt", b"hello world", "text/plain")
    f = await bot.get_file(doc["document"]["file_id"])
    assert await f.download_as_bytearray() == bytearray(b"hello world")

    qid = srv.press_button(msg.message_id, "more:1", alice, chat=dm)
    upd = (await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1))[-1]
    assert upd.callback_query.data == "more:1" and upd.callback_query.id == qid
    assert await upd.callback_query.answer("تم")

    cm = await bot.get_chat_member(dm["id"], alice["id"])
    assert cm.status == "member"
    assert (await bot.get_chat(dm["id"])).type == "private"
    assert srv.rejected == []


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_real_ptb_bot_errors(botapi_server, botapi_bot):
    srv, bot = botapi_server, botapi_bot
    dm = srv.private(srv.user(5, "x"))
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(dm["id"], "<b>x", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(dm["id"], "ا" * 4097)
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(dm["id"], "x", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("x", callback_data="x" * 65)]]))
    srv.flood(1)
    with pytest.raises(RetryAfter):
        await bot.send_message(dm["id"], "x")
    assert len(srv.rejected) == 3
    with pytest.raises(InvalidToken):
        async with telegram.Bot("123:" + "A" * 35, base_url=srv.base_url):
            pass


# ------------------------------------------------- a real PTB Application, polling


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_ptb_application_polling_with_rate_limiter(botapi_server_strict):
    from telegram.ext import AIORateLimiter, ApplicationBuilder, CallbackQueryHandler, MessageHandler, filters

    srv = botapi_server_strict
    app = (ApplicationBuilder().token(srv.token).base_url(srv.base_url).base_file_url(srv.base_file_url)
           .rate_limiter(AIORateLimiter(max_retries=2)).build())

    async def echo(update, context):
        await update.effective_chat.send_action("typing")
        await update.message.reply_html(f"<b>{len(update.message.text)}</b>", do_quote=True, reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("المزيد", callback_data="more")]]))

    async def more(update, context):
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("المزيد")

    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(more))
    alice = srv.user(7, "أحمد")
    async with app:
        await app.start()
        await app.updater.start_polling(timeout=10, poll_interval=0)
        try:
            srv.flood(1, retry_after=1)  # the first reply gets 429; AIORateLimiter retries it
            srv.send_text(srv.private(alice), alice, "سلام")
            call = await srv.wait_for_async(lambda c: c.ok, 8, method="sendMessage")
            assert call.result["text"] == "4" and call.result["reply_to_message"]["text"] == "سلام"
            assert [c.error_code for c in srv.calls_to("sendMessage")] == [429, None]
            assert srv.calls_to("sendChatAction")
            srv.press_button(call.result, "more", alice)
            edit = await srv.wait_for_async(method="editMessageText", timeout=5)
            assert edit.ok and edit.result["text"] == "المزيد"
            await srv.wait_for_async(lambda c: c.ok, 5, method="answerCallbackQuery")
        finally:
            await app.updater.stop()
            await app.stop()


# ------------------------------------------------------------------ properties

from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_escaped_text_always_accepted_and_visible_text_preserved(s):
    import html

    try:
        text, ents = parse_formatted_text(f"<b>{html.escape(s)}</b>", "HTML", max_length=10**9)
    except Exception as exc:  # only the documented errors are allowed
        assert "message text is empty" in str(exc) or "UTF-8" in str(exc), exc
        return
    assert text == s.strip(" \t\n\r\x0b\x0c")
    assert all(0 <= e["offset"] and e["offset"] + e["length"] <= utf16_len(text) for e in ents)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/&;#abiuspre=\"' x\u0633😀"))))
def test_parser_never_crashes(s):
    from botapi_server import BotAPIError

    for mode in ("HTML", "MarkdownV2", "Markdown"):
        try:
            parse_formatted_text(s, mode)
        except BotAPIError as exc:
            assert exc.error_code == 400 and exc.description.startswith("Bad Request: ")
