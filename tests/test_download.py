"""Download helpers against a local HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import hashlib
import http.server
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
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("H", (_Handler,), {"files": {}, "log": [], "honour_range": True})
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
    with pytest.raises(dl.DownloadError, match="size 10240 bytes, expected 5"):
        dl.download_file(f"{base}/a.bin", tmp_path / "b.bin", size=5)


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
        assert s.licence and s.homepage.startswith("http")
        if s.registration:
            assert not s.files and s.instructions
        else:
            assert s.files
            for f in s.files:
                assert f.url.startswith(("http://", "https://")) and not f.path.startswith("/")
                assert f.sha256 is None or len(f.sha256) == 64


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
