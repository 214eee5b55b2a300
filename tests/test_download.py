"""Download helpers against a local HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import hashlib
import http.server
import io
import signal
import stat
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from depthduet.cli import main
from depthduet.data import download as dl
from depthduet.errors import UserError

PAYLOAD = bytes(range(256)) * 40  # 10240 bytes
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    log: list[tuple[str, str | None]] = []
    honour_range = True
    send_length = True

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        rng = self.headers.get("Range")
        self.log.append((self.path, rng))
        data = self.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        start = 0
        if rng and self.honour_range:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        if self.send_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _TestTimeout(BaseException):
    """Raised by the alarm below; not an Exception, so that no handler swallows it."""


@pytest.fixture(autouse=True)
def _time_limit() -> Iterator[None]:
    """Fail any test here that runs longer than 30 s (a hung request, a runaway extraction)."""

    def expire(signum: int, frame: object) -> None:
        raise _TestTimeout("test ran longer than 30 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 30.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture()
def server() -> Iterator[tuple[str, type[_Handler]]]:
    attrs = {"files": {}, "log": [], "honour_range": True, "send_length": True}
    handler = type("H", (_Handler,), attrs)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_download_verifies_sha256(server, tmp_path: Path) -> None:
    base, h = server
    h.files["/a.bin"] = PAYLOAD
    out = dl.download_file(f"{base}/a.bin", tmp_path / "a.bin", sha256=SHA, size=len(PAYLOAD))
    assert out.read_bytes() == PAYLOAD
    assert not (tmp_path / "a.bin.part").exists()
    # a second call finds the verified file and makes no request
    n = len(h.log)
    dl.download_file(f"{base}/a.bin", tmp_path / "a.bin", sha256=SHA)
    assert len(h.log) == n


def test_checksum_mismatch_deletes_file(server, tmp_path: Path) -> None:
    base, h = server
    h.files["/a.bin"] = PAYLOAD
    with pytest.raises(dl.DownloadError, match="sha256"):
        dl.download_file(f"{base}/a.bin", tmp_path / "a.bin", sha256="0" * 64)
    assert not (tmp_path / "a.bin").exists()
    with pytest.raises(dl.DownloadError, match="size mismatch: expected 5 bytes, the server sends"):
        dl.download_file(f"{base}/a.bin", tmp_path / "b.bin", size=5)
    assert sorted(tmp_path.iterdir()) == []  # neither the files nor their .part files stay


def test_size_checked_without_content_length(server, tmp_path: Path) -> None:
    base, h = server
    h.files["/a.bin"] = PAYLOAD
    h.send_length = False  # the body ends when the connection closes
    with pytest.raises(dl.DownloadError, match="expected 5 bytes, the server sent more"):
        dl.download_file(f"{base}/a.bin", tmp_path / "a.bin", size=5)
    assert sorted(tmp_path.iterdir()) == []
    out = dl.download_file(f"{base}/a.bin", tmp_path / "a.bin", size=len(PAYLOAD), sha256=SHA)
    assert out.read_bytes() == PAYLOAD
    # a complete part file of the wrong content is deleted, never renamed into place
    (tmp_path / "c.bin.part").write_bytes(b"y" * len(PAYLOAD))
    with pytest.raises(dl.DownloadError, match=f"sha256 mismatch: expected {SHA}, got "):
        dl.download_file(f"{base}/a.bin", tmp_path / "c.bin", size=len(PAYLOAD), sha256=SHA)
    assert not (tmp_path / "c.bin").exists() and not (tmp_path / "c.bin.part").exists()


def test_malformed_sha256_is_refused_before_any_request(server, tmp_path: Path) -> None:
    base, h = server
    h.files["/a.bin"] = PAYLOAD
    n = len(h.log)
    with pytest.raises(dl.DownloadError, match="not a SHA-256 digest"):
        dl.download_file(f"{base}/a.bin", tmp_path / "a.bin", sha256="xyz")
    assert len(h.log) == n and not (tmp_path / "a.bin").exists()
    out = dl.download_file(f"{base}/a.bin", tmp_path / "a.bin", sha256=f" {SHA.upper()} ")
    assert out.read_bytes() == PAYLOAD  # upper case and stray spaces of a pasted digest are fine


def test_resume_with_range_request(server, tmp_path: Path) -> None:
    base, h = server
    h.files["/a.bin"] = PAYLOAD
    (tmp_path / "a.bin.part").write_bytes(PAYLOAD[:3000])
    dl.download_file(f"{base}/a.bin", tmp_path / "a.bin", sha256=SHA)
    assert h.log[-1] == ("/a.bin", "bytes=3000-")
    assert (tmp_path / "a.bin").read_bytes() == PAYLOAD


def test_resume_when_server_ignores_range_restarts(server, tmp_path: Path) -> None:
    base, h = server
    h.files["/a.bin"] = PAYLOAD
    h.honour_range = False
    (tmp_path / "a.bin.part").write_bytes(b"garbage!" * 10)
    dl.download_file(f"{base}/a.bin", tmp_path / "a.bin", sha256=SHA)
    assert (tmp_path / "a.bin").read_bytes() == PAYLOAD


def test_complete_part_file_416(server, tmp_path: Path) -> None:
    base, h = server
    h.files["/a.bin"] = PAYLOAD
    (tmp_path / "a.bin.part").write_bytes(PAYLOAD)
    dl.download_file(f"{base}/a.bin", tmp_path / "a.bin", sha256=SHA, size=len(PAYLOAD))
    assert h.log[-1][1] == f"bytes={len(PAYLOAD)}-"
    assert (tmp_path / "a.bin").read_bytes() == PAYLOAD


def test_no_resume_discards_part(server, tmp_path: Path) -> None:
    base, h = server
    h.files["/a.bin"] = PAYLOAD
    (tmp_path / "a.bin.part").write_bytes(b"x" * 100)
    dl.download_file(f"{base}/a.bin", tmp_path / "a.bin", resume=False)
    assert h.log[-1][1] is None
    assert (tmp_path / "a.bin").read_bytes() == PAYLOAD


def test_http_errors_and_bad_urls(server, tmp_path: Path) -> None:
    base, _ = server
    with pytest.raises(dl.DownloadError, match="HTTP 404"):
        dl.download_file(f"{base}/missing.bin", tmp_path / "m.bin")
    with pytest.raises(dl.DownloadError, match="only http"):
        dl.download_file("ftp://example.org/x", tmp_path / "x")


def test_fetch_with_mirror_keeps_relative_paths(server, tmp_path: Path) -> None:
    base, h = server
    src = dl.get_source("middlebury_2005")
    for f in src.files:
        h.files["/" + f.path] = f.path.encode()
    paths = dl.fetch("middlebury_2005", tmp_path, mirror=base)
    assert len(paths) == 18
    assert (
        tmp_path / "Art" / "Illum1" / "Exp0" / "view1.png"
    ).read_bytes() == b"Art/Illum1/Exp0/view1.png"


def test_registration_sources_raise_instructions(tmp_path: Path) -> None:
    for name in ("kitti_raw", "cityscapes"):
        with pytest.raises(dl.RegistrationRequired, match="Register"):
            dl.fetch(name, tmp_path)
    with pytest.raises(UserError, match="unknown source 'nope'; known:"):
        dl.get_source("nope")


def test_sources_are_well_formed() -> None:
    for s in dl.SOURCES.values():
        assert s.licence and s.homepage.startswith("https://")
        if s.registration:
            assert not s.files and s.instructions
        else:
            assert s.files and s.verification
            for f in s.files:
                assert f.url.startswith("https://") and not f.path.startswith("/")
                assert dl.url_file_name(f.url) == f.path.rsplit("/", 1)[-1]
                assert f.sha256 is None or (len(f.sha256) == 64 and f.sha256 == f.sha256.lower())
                assert (f.sha256 is None) == (f.size is None)  # pinned together or not at all
    splits = dl.get_source("kitti_splits")
    assert all(f.sha256 and "/master/" not in f.url for f in splits.files)  # a fixed commit
    assert splits.verification.startswith("SHA-256 and size pinned")
    assert dl.get_source("nyu_v2_labeled").verification.startswith("not verified")


def test_extract_zip_rejects_escaping_members(tmp_path: Path) -> None:
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("scene/im0.png", b"abc")
    assert dl.extract_zip(good, tmp_path / "out") == [
        (tmp_path / "out").resolve() / "scene/im0.png"
    ]
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("../evil.txt", b"x")
    with pytest.raises(dl.DownloadError, match="outside"):
        dl.extract_zip(bad, tmp_path / "out")
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(dl.DownloadError, match="not a valid zip"):
        dl.extract_zip(tmp_path / "junk.zip", tmp_path / "out")


def test_cli_list_and_instructions(capsys) -> None:
    assert main(["download"]) == 0
    out = capsys.readouterr().out
    for name in ("nyu_v2_labeled", "middlebury_2014", "kitti_raw", "cityscapes", "sintel_depth"):
        assert f"{name}:" in out
    assert main(["download", "kitti_raw"]) == 0
    out = capsys.readouterr().out
    assert "cvlibs.net" in out and "KittiRawDataset" in out


def test_cli_url_download_writes_record(server, tmp_path: Path, capsys) -> None:
    base, h = server
    h.files["/a.bin"] = PAYLOAD
    rc = main(
        ["download", "--url", f"{base}/a.bin", "--sha256", SHA, "--out", str(tmp_path), "--quiet"]
    )
    assert rc == 0
    rec = yaml.safe_load((tmp_path / "download.yaml").read_text())
    assert rec["files"]["a.bin"] == {"bytes": len(PAYLOAD), "sha256": SHA}
    assert (
        main(
            [
                "download",
                "--url",
                f"{base}/a.bin",
                "--sha256",
                "1" * 64,
                "--out",
                str(tmp_path / "x"),
                "--quiet",
            ]
        )
        == 2
    )
    assert "sha256" in capsys.readouterr().err


def test_cli_named_source_with_mirror_and_extract(server, tmp_path: Path) -> None:
    base, h = server
    import io as _io

    for f in dl.get_source("middlebury_2014").files:
        buf = _io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr(f.path.replace(".zip", "") + "/calib.txt", b"baseline=1")
        h.files["/" + f.path] = buf.getvalue()
    rc = main(
        [
            "download",
            "middlebury_2014",
            "--out",
            str(tmp_path),
            "--mirror",
            base,
            "--extract",
            "--quiet",
        ]
    )
    assert rc == 0
    assert (tmp_path / "Motorcycle-perfect" / "calib.txt").read_bytes() == b"baseline=1"
    assert len(yaml.safe_load((tmp_path / "download.yaml").read_text())["files"]) == 23


def test_cli_failed_download_leaves_no_empty_folder_and_refuses_a_file_as_out(
    server, tmp_path: Path, capsys
) -> None:
    base, _ = server
    out = tmp_path / "new" / "deeper"
    assert main(["download", "--url", f"{base}/missing.bin", "--out", str(out), "--quiet"]) == 2
    assert "missing.bin" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()  # the folders this run made are gone: nothing came
    existing = tmp_path / "kept"
    existing.mkdir()
    assert main(["download", "--url", f"{base}/missing.bin", "--out", str(existing)]) == 2
    assert existing.is_dir()  # a folder the user had stays
    capsys.readouterr()
    afile = tmp_path / "afile"
    afile.write_text("x")
    rc = main(["download", "middlebury_2005", "--out", str(afile), "--mirror", base, "--quiet"])
    assert rc == 2
    assert f"{afile}: exists and is not a folder" in capsys.readouterr().err
    assert afile.read_text() == "x"


# --- verification, archive limits and URL checks through the command line ---------------------


def _zip(members: dict[str, bytes], **links: str) -> bytes:
    """A deflated zip of ``members``; ``links`` adds symlink members (name -> target)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
        for name, target in links.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, target)
    return buf.getvalue()


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("depthduet download: error: "), err
    return err


def _left_under(out: Path) -> list[Path]:
    return sorted(out.rglob("*")) if out.exists() else []


@pytest.fixture(params=["new", "existing"])
def out_dir(request, tmp_path: Path) -> Path:
    """An output folder the run creates (it must be gone after a failure) or one that exists
    already (it must stay, empty)."""
    out = tmp_path / "out"
    if request.param == "existing":
        out.mkdir()
    return out


def _assert_nothing_left(out: Path, tmp_path: Path) -> None:
    assert _left_under(out) == []
    if not out.exists():
        assert sorted(tmp_path.iterdir()) == []


def test_cli_checksum_mismatch_of_a_builtin_source(server, out_dir, tmp_path, capsys) -> None:
    base, h = server
    first = dl.get_source("kitti_splits").files[0]
    wrong = b"x" * first.size  # right size, wrong bytes
    h.files["/" + first.path] = wrong
    argv = ["download", "kitti_splits", "--out", str(out_dir), "--mirror", base, "--quiet"]
    assert main(argv) == 2
    err = _one_error_line(capsys)
    assert first.path in err and "sha256 mismatch" in err
    assert f"expected {first.sha256}, got {hashlib.sha256(wrong).hexdigest()}" in err
    _assert_nothing_left(out_dir, tmp_path)


def test_cli_size_mismatch(server, out_dir, tmp_path, capsys) -> None:
    base, h = server
    first = dl.get_source("kitti_splits").files[0]
    h.files["/" + first.path] = b"x" * 100
    argv = ["download", "kitti_splits", "--out", str(out_dir), "--mirror", base, "--quiet"]
    assert main(argv) == 2
    err = _one_error_line(capsys)
    assert f"{first.path}: size mismatch: expected {first.size} bytes, the server sends 100" in err
    _assert_nothing_left(out_dir, tmp_path)
    h.files["/a.bin"] = PAYLOAD
    argv = ["download", "--url", f"{base}/a.bin", "--size", "5", "--out", str(out_dir)]
    assert main([*argv, "--quiet"]) == 2
    err = _one_error_line(capsys)
    assert "a.bin: size mismatch: expected 5 bytes, the server sends 10240" in err
    _assert_nothing_left(out_dir, tmp_path)


def test_cli_verified_builtin_source(server, tmp_path, monkeypatch, capsys) -> None:
    base, h = server
    h.files["/d/a.bin"] = PAYLOAD
    pinned = dl.Source(
        "pinned", "t", "https://example.org", "l", "x",
        (dl.RemoteFile("https://example.org/d/a.bin", "d/a.bin", len(PAYLOAD), SHA),),
    )  # fmt: skip
    monkeypatch.setitem(dl.SOURCES, "pinned", pinned)
    out = tmp_path / "out"
    assert main(["download", "pinned", "--out", str(out), "--mirror", base, "--quiet"]) == 0
    assert (out / "d" / "a.bin").read_bytes() == PAYLOAD
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "path",
    ["/..", "/", "", "/a/%2e%2e", "/a/.", "/a%2Fb", "/download.yaml", "/?f=a.zip"],
)
def test_cli_refuses_a_url_without_a_file_name(server, out_dir, tmp_path, path, capsys) -> None:
    base, h = server
    assert main(["download", "--url", base + path, "--out", str(out_dir), "--quiet"]) == 2
    err = _one_error_line(capsys)
    assert base + path in err
    assert h.log == []  # refused before any request
    _assert_nothing_left(out_dir, tmp_path)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://127.0.0.1/a.zip", "only http(s) URLs"),
        ("http:///a.zip", "names no host"),
        ("http://127.0.0.1:99999/a.zip", "not a valid URL"),
    ],
)
def test_cli_refuses_bad_urls(url, message, out_dir, tmp_path, capsys) -> None:
    assert main(["download", "--url", url, "--out", str(out_dir), "--quiet"]) == 2
    assert message in _one_error_line(capsys)
    _assert_nothing_left(out_dir, tmp_path)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--max-ratio", "0"], "--max-ratio '0': expected a positive number"),
        (["--max-unzipped-size", "lots"], "--max-unzipped-size 'lots': expected a byte count"),
        (["--size", "-1"], "--size '-1': expected a byte count"),
    ],
)
def test_cli_refuses_bad_limits(server, extra, message, out_dir, tmp_path, capsys) -> None:
    base, h = server
    argv = ["download", "--url", f"{base}/a.zip", "--extract", "--out", str(out_dir), *extra]
    assert main(argv) == 2
    assert message in _one_error_line(capsys)
    assert h.log == []
    _assert_nothing_left(out_dir, tmp_path)
    assert main(["download", "middlebury_2005", "--size", "5", "--out", str(out_dir)]) == 2
    assert "apply to --url only" in _one_error_line(capsys)


def test_cli_refuses_a_zip_bomb(server, out_dir, tmp_path, capsys) -> None:
    base, h = server
    bomb = _zip({"ok.txt": b"fine", "zeros.bin": bytes(16 << 20)})  # 16 MiB of zeros
    assert len(bomb) < 64 << 10
    h.files["/bomb.zip"] = bomb
    argv = ["download", "--url", f"{base}/bomb.zip", "--extract", "--out", str(out_dir)]
    assert main([*argv, "--quiet"]) == 2
    err = _one_error_line(capsys)
    assert "'zeros.bin' expands" in err and "limit 100), a likely zip bomb" in err
    assert "bomb.zip was deleted (raise --max-ratio if you trust it)" in err
    _assert_nothing_left(out_dir, tmp_path)
    # the same archive passes with a higher ratio, and then the total cap stops it
    argv += ["--max-ratio", "1e6", "--quiet"]
    assert main([*argv, "--max-unzipped-size", "1M"]) == 2
    err = _one_error_line(capsys)
    assert f"unpacks to {(16 << 20) + 4} bytes, more than the limit of 1048576" in err
    assert "(raise --max-unzipped-size if you trust it)" in err
    _assert_nothing_left(out_dir, tmp_path)
    assert main(argv) == 0
    assert (out_dir / "zeros.bin").stat().st_size == 16 << 20
    assert not list(out_dir.glob(".depthduet-extract-*"))


@pytest.mark.parametrize(
    ("members", "links"),
    [
        ({"a.txt": b"a", "../evil.txt": b"x"}, {}),
        ({"a.txt": b"a", "sub/../../evil.txt": b"x"}, {}),
        ({"a.txt": b"a", "..\\evil.txt": b"x"}, {}),
        ({"a.txt": b"a", "/tmp/evil.txt": b"x"}, {}),
        ({"a.txt": b"a", "C:/evil.txt": b"x"}, {}),
        ({"a.txt": b"a"}, {"sub/link": "../../evil.txt"}),
        ({"a.txt": b"a"}, {"link": "/etc"}),
    ],
)
def test_cli_refuses_path_traversal(server, out_dir, tmp_path, members, links, capsys) -> None:
    base, h = server
    h.files["/bad.zip"] = _zip(members, **links)
    argv = ["download", "--url", f"{base}/bad.zip", "--extract", "--out", str(out_dir)]
    assert main([*argv, "--quiet"]) == 2
    err = _one_error_line(capsys)
    assert "outside" in err and "nothing extracted; bad.zip was deleted" in err
    assert "raise" not in err  # no option lets these through
    _assert_nothing_left(out_dir, tmp_path)
    assert not (tmp_path / "evil.txt").exists()


def test_extract_zip_is_all_or_nothing(tmp_path: Path) -> None:
    # a damaged second member: the first one is not left behind
    data = bytearray(_zip({"a.txt": b"first", "b.txt": b"second member " * 50}))
    data[data.index(b"b.txt") + 5 + 2] ^= 0xFF  # a byte of b.txt's compressed data
    (tmp_path / "damaged.zip").write_bytes(bytes(data))
    out = tmp_path / "out"
    with pytest.raises(dl.DownloadError, match="damaged.zip: extraction failed .*nothing"):
        dl.extract_zip(tmp_path / "damaged.zip", out)
    assert not out.exists()
    # a chain of links that only escapes once both exist
    chain = tmp_path / "chain.zip"
    chain.write_bytes(_zip({"a.txt": b"a"}, **{"sub/l": "..", "x": "sub/l/.."}))
    out.mkdir()
    with pytest.raises(dl.UnsafeArchive, match="'x' is a symlink that resolves outside"):
        dl.extract_zip(chain, out)
    assert _left_under(out) == []
    # a member whose folder is a file already there: refused before anything moves
    (out / "scene").write_text("mine")
    clash = tmp_path / "clash.zip"
    clash.write_bytes(_zip({"new.txt": b"n", "scene/im0.png": b"p"}))
    with pytest.raises(dl.DownloadError, match="already exists as a file; nothing extracted"):
        dl.extract_zip(clash, out)
    assert sorted(p.name for p in out.iterdir()) == ["scene"]


def test_extract_zip_merges_and_keeps_inside_links(tmp_path: Path) -> None:
    out = tmp_path / "sintel"
    (out / "training" / "clean").mkdir(parents=True)
    (out / "training" / "clean" / "f.png").write_bytes(b"frame")
    archive = tmp_path / "depth.zip"
    archive.write_bytes(
        _zip(
            {"training/depth/d.dpt": b"depth", "small_zeros.bin": bytes(100_000)},
            **{"training/latest": "depth/d.dpt"},
        )
    )
    files = dl.extract_zip(archive, out)
    root = out.resolve()
    expected = ["training/depth/d.dpt", "small_zeros.bin", "training/latest"]
    assert files == [root / p for p in expected]
    assert (out / "training" / "clean" / "f.png").read_bytes() == b"frame"  # merged
    assert (out / "training" / "latest").is_symlink()
    assert (out / "training" / "latest").read_bytes() == b"depth"
    assert (out / "small_zeros.bin").stat().st_size == 100_000  # small members skip the ratio
    assert not list(out.glob(".depthduet-extract-*")) and archive.exists()
