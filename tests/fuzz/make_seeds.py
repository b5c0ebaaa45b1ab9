#!/usr/bin/env python3
"""Writes the generated seed corpora of the fuzz targets (docs/fuzzing.md) into tests/fuzz/corpus/.

Each seed is a small, meaningful input: a valid instance of the format (so the fuzzer starts deep in
the parser) or a near miss that one refusal path answers. Standard library only. The seeds are
committed; run this again after changing a format, then replay them:

    python3 tests/fuzz/make_seeds.py && ctest --test-dir BUILD -L fuzz

Reproducers are committed by hand beside these (crash-* found by a fuzzer, regression-* written
alongside a fix), and this script never removes them.
"""
import hashlib
import json
import struct
import zlib
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"


def write(target, name, data):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    assert len(data) < 4096, f"{target}/{name} is {len(data)} bytes: keep seeds under 4 KB"
    (directory / name).write_bytes(data)


# --- image_probe: headers of the five formats ---------------------------------------------------

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, depth, colour_type, extra_chunks=()):
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
    row = b"\0" + b"\x80" * ((width * channels * depth + 7) // 8)
    chunks = [png_chunk(b"IHDR", ihdr), *extra_chunks, png_chunk(b"IDAT", zlib.compress(row * height)),
              png_chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def bmp(width, height, bits, compression=0, palette=b"", core=False):
    stride = (width * bits + 31) // 32 * 4
    pixels = b"\x40" * (stride * abs(height))
    if core:  # OS/2 BITMAPCOREHEADER
        info = struct.pack("<IHHHH", 12, width, height, 1, bits)
    else:
        info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bits, compression, len(pixels), 2835, 2835,
                           len(palette) // 4, 0)
        if compression == 3:
            info += struct.pack("<III", 0xFF0000, 0xFF00, 0xFF)  # bit fields follow the header
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + palette + pixels


def jpeg(width, height, components, frame_marker=0xC0, fill=False):
    def segment(marker, body):
        return (b"\xff\xff" if fill else b"") + bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body
    app0 = b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
    dqt = b"\0" + bytes(range(1, 65))
    frame = struct.pack(">BHHB", 8, height, width, components)
    frame += b"".join(bytes([i + 1, 0x11, 0]) for i in range(components))
    scan = bytes([components]) + b"".join(bytes([i + 1, 0]) for i in range(components)) + b"\0\x3f\0"
    return (b"\xff\xd8" + segment(0xE0, app0) + segment(0xDB, dqt) + segment(frame_marker, frame) +
            segment(0xDA, scan) + b"\x00\x01\x02\xff\xd9")


def riff_webp(chunk_kind, chunk):
    body = b"WEBP" + chunk_kind + struct.pack("<I", len(chunk)) + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_vp8(width, height):
    frame = b"\x10\x02\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", width, height) + b"\0" * 8
    return riff_webp(b"VP8 ", frame)


def webp_vp8l(width, height, alpha):
    bits = (width - 1) | (height - 1) << 14 | (1 if alpha else 0) << 28
    return riff_webp(b"VP8L", b"\x2f" + struct.pack("<I", bits) + b"\0" * 3)


def webp_vp8x(width, height, flags):
    return riff_webp(b"VP8X", bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") +
                     (height - 1).to_bytes(3, "little"))


def tiff(big_endian, entries):
    """entries: (tag, type, value); type 3 SHORT or 4 LONG."""
    e = ">" if big_endian else "<"
    ifd = struct.pack(e + "H", len(entries))
    for tag, kind, value in entries:
        packed = struct.pack(e + "HH", value, 0) if kind == 3 else struct.pack(e + "I", value)
        ifd += struct.pack(e + "HHI", tag, kind, 1) + packed
    ifd += struct.pack(e + "I", 0)
    return (b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, 8) + ifd + b"\0" * 16


def image_probe_seeds():
    gray_palette = b"".join(bytes([i, i, i, 0]) for i in range(256))
    colour_palette = b"\0\0\xff\0\0\xff\0\0"
    seeds = {
        "png_rgb_1x1": png(1, 1, 8, 2),
        "png_gray16_3x2": png(3, 2, 16, 0),
        "png_gray_alpha_2x2": png(2, 2, 8, 4),
        "png_palette_trns": png(2, 1, 4, 3, [png_chunk(b"PLTE", b"\0\0\0\xff\xff\xff"), png_chunk(b"tRNS", b"\0")]),
        "png_bad_crc": png(1, 1, 8, 2)[:29] + b"\0\0\0\0" + png(1, 1, 8, 2)[33:],
        "png_truncated": png(4, 4, 8, 6)[:40],
        "bmp_24bit_2x2": bmp(2, 2, 24),
        "bmp_8bit_gray_palette_top_down": bmp(3, -2, 8, palette=gray_palette),
        "bmp_1bit_colour_palette": bmp(9, 1, 1, palette=colour_palette),
        "bmp_32bit_bitfields_alpha": bmp(2, 1, 32, compression=3),
        "bmp_os2_core_24bit": bmp(2, 2, 24, core=True),
        "bmp_rle8": bmp(2, 2, 8, compression=1, palette=gray_palette)[:0x436 + 4],
        "jpeg_gray_8x8": jpeg(8, 8, 1),
        "jpeg_ycbcr_16x8": jpeg(16, 8, 3),
        "jpeg_progressive_cmyk_fill": jpeg(4, 4, 4, frame_marker=0xC2, fill=True),
        "jpeg_dnl_height_zero": jpeg(8, 0, 3),
        "webp_vp8_lossy": webp_vp8(5, 3),
        "webp_vp8l_alpha": webp_vp8l(7, 2, True),
        "webp_vp8x_alpha": webp_vp8x(300, 200, 0x10),
        "webp_vp8x_animated": webp_vp8x(4, 4, 0x02),
        "tiff_le_gray": tiff(False, [(256, 3, 4), (257, 3, 3), (262, 3, 1), (277, 3, 1)]),
        "tiff_be_rgba": tiff(True, [(256, 4, 2), (257, 4, 2), (262, 3, 2), (277, 3, 4)]),
        "tiff_le_palette": tiff(False, [(256, 3, 1), (257, 3, 1), (262, 3, 3)]),
        "tiff_bad_ifd_offset": b"II*\0\xff\xff\0\0" + b"\0" * 8,
    }
    for name, data in seeds.items():
        write("image_probe", name, data)


# --- container: Extract over pixels -------------------------------------------------------------

MAGIC = b"SGCL"
FLAG_COMPRESSED, FLAG_ENCRYPTED, FLAG_KEYED = 1, 2, 4
WIDTH, MAX_HEIGHT = 32, 32  # container_fuzz.cc's image


def groups_for(nbytes, depth):
    return (nbytes + 3 * depth - 1) // (3 * depth)


def record(name, mime, data):
    return bytes([len(name)]) + name + bytes([len(mime)]) + mime + data


def raw_deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def container(depth, body_record, compress=False, password=None, scrypt_log2n=10):
    """The preamble, and the header + body as they follow it (header padded to whole groups)."""
    preamble = MAGIC + bytes([1, depth])
    body = raw_deflate(body_record) if compress else body_record
    flags = FLAG_COMPRESSED if compress else 0
    crypto = b""
    if password is not None:
        flags |= FLAG_ENCRYPTED | FLAG_KEYED
        salt, nonce = bytes(range(16)), bytes(range(12))
        keys = hashlib.scrypt(password, salt=salt, n=1 << scrypt_log2n, r=8, p=1, maxmem=1 << 26, dklen=68)
        crypto = bytes([scrypt_log2n]) + salt + nonce + keys[64:68]
        # Not really sealed (no AES-GCM in the standard library): a zero body the size of a sealed one,
        # so the reader gets as far as the authentication, which refuses it.
        body = b"\0" * (len(body) + 16)
    fields = bytes([flags]) + struct.pack("<III", len(body_record), len(body), zlib.crc32(body)) + crypto
    header = fields + struct.pack("<I", zlib.crc32(preamble + fields))
    padded = header + b"\0" * (groups_for(len(header), depth) * 3 * depth - len(header))
    return preamble, padded + body


def placed(channels_code, password_flag, depth, body_record, **kwargs):
    preamble, rest = container(depth, body_record, **kwargs)
    return bytes([channels_code | (4 if password_flag else 0) | 8]) + preamble + rest


def lsb_write(slots, depth, first_group, data):
    """Writes data into the low bits of the colour slots, as worker/stego/lsb.h lays them out."""
    group_bytes = 3 * depth
    for g in range(groups_for(len(data), depth)):
        chunk = data[g * group_bytes:(g + 1) * group_bytes].ljust(group_bytes, b"\0")
        bits = int.from_bytes(chunk, "little")
        for s in range(24):
            i = (first_group + g) * 24 + s
            slots[i] = (slots[i] & ~((1 << depth) - 1)) | ((bits >> (s * depth)) & ((1 << depth) - 1))


def raw_image(channels, height, fill, depth=None, body_record=None, **kwargs):
    """A raw-mode input: pixels with a container in their low bits (alpha skipped)."""
    colour = 1 if channels == 1 else 3
    slots = [fill(i) for i in range(WIDTH * height * colour)]
    if body_record is not None:
        preamble, rest = container(depth, body_record, **kwargs)
        lsb_write(slots, 1, 0, preamble)
        lsb_write(slots, depth, 2, rest)
    pixels = bytearray()
    for p in range(WIDTH * height):
        pixels += bytes(slots[p * colour:(p + 1) * colour])
        if channels == 4:
            pixels.append(0xFF)
    code = {1: 0, 3: 1, 4: 2}[channels]
    return bytes([code]) + bytes(pixels)


def container_seeds():
    hello = record(b"hello.txt", b"text/plain", b"hello, hidden world\n")
    repetitive = record(b"", b"", b"abcabcabc" * 40)
    write("container", "placed_plain_depth1_bgr", placed(1, False, 1, hello))
    write("container", "placed_deflated_depth2_gray", placed(0, False, 2, repetitive, compress=True))
    write("container", "placed_depth4_bgra", placed(2, False, 4, hello))
    write("container", "placed_output_too_large", placed(1, False, 3, record(b"", b"", b"x" * 600)))
    write("container", "placed_encrypted_password", placed(1, True, 2, hello, password=b"fuzz"))
    write("container", "placed_encrypted_no_password", placed(1, False, 2, hello, password=b"fuzz"))
    write("container", "placed_encrypted_wrong_password", placed(1, True, 1, hello, password=b"other"))
    write("container", "placed_bad_version", bytes([9]) + MAGIC + b"\x02\x01" + b"\0" * 24)
    write("container", "placed_two_magic_bytes", bytes([9]) + b"SGxx\x01\x01" + b"\0" * 24)
    write("container", "raw_bgr_depth2",
          raw_image(3, 10, lambda i: (i * 37) & 0xFF, depth=2, body_record=hello))
    write("container", "raw_bgra_depth1_deflated",
          raw_image(4, 12, lambda i: (i * 11 + 5) & 0xFF, depth=1, body_record=repetitive, compress=True))
    write("container", "raw_gray_depth3", raw_image(1, 30, lambda i: 200, depth=3, body_record=hello))
    write("container", "raw_noise", raw_image(3, 8, lambda i: (i * 2654435761 >> 7) & 0xFF))
    # A gray container saved as WebP comes back as BGR with B = G = R (embed.h): read as gray.
    gray = raw_image(1, 24, lambda i: 0x80, depth=2, body_record=hello)
    write("container", "raw_gray_as_replicated_bgr", bytes([1]) + bytes(b for b in gray[1:] for _ in range(3)))


# --- raft_codec: peer message batches and configuration entries ---------------------------------

def u(value, width):
    return value.to_bytes(width, "little")


def put_bytes(data):
    return u(len(data), 4) + data


def put_ids(ids):
    return u(len(ids), 4) + b"".join(u(i, 8) for i in ids)


def conf_entry(change_type, node, context, voters, learners):
    return b"C\x01" + bytes([change_type]) + u(node, 8) + put_bytes(context) + put_ids(voters) + put_ids(learners)


def entry(term, index, kind, data):
    return u(term, 8) + u(index, 8) + bytes([kind]) + put_bytes(data)


def message(kind, sender, to, term=3, log_term=2, index=10, commit=9, reject_hint=0, flags=0, context=b"",
            entries=(), snapshot=b""):
    fields = b"".join(u(v, 8) for v in (sender, to, term, log_term, index, commit, reject_hint))
    return (bytes([kind]) + fields + bytes([flags]) + put_bytes(context) + u(len(entries), 4) + b"".join(entries) +
            snapshot)


def batch(messages, version=1):
    return b"R" + bytes([version]) + u(len(messages), 4) + b"".join(messages)


def raft_codec_seeds():
    APPEND, APPEND_RESP, HEARTBEAT, SNAPSHOT, VOTE, READ_INDEX, TIMEOUT_NOW = 3, 4, 5, 7, 8, 1, 12
    conf = conf_entry(0, 4, b'{"peer":"10.0.0.4:7001"}', [1, 2, 3], [4])
    snapshot = u(120, 8) + u(5, 8) + put_ids([1, 2, 3]) + put_ids([]) + put_bytes(b'{"config":{}}')
    write("raft_codec", "empty_batch", batch([]))
    write("raft_codec", "heartbeat", batch([message(HEARTBEAT, 1, 2)]))
    write("raft_codec", "append_with_conf_change", batch([message(APPEND, 1, 2, entries=[
        entry(3, 11, 0, b'{"op":"patch_config","patch":{"max_covers":5}}'), entry(3, 12, 1, conf)])]))
    write("raft_codec", "append_reject", batch([message(APPEND_RESP, 2, 1, reject_hint=7, flags=1)]))
    write("raft_codec", "vote_transfer_and_read_index", batch([
        message(VOTE, 3, 1, flags=2), message(READ_INDEX, 2, 1, context=b"read-42"),
        message(TIMEOUT_NOW, 1, 3)]))
    write("raft_codec", "snapshot", batch([message(SNAPSHOT, 1, 4, flags=4, snapshot=snapshot)]))
    write("raft_codec", "bad_version", batch([message(HEARTBEAT, 1, 2)], version=2))
    write("raft_codec", "count_exceeds_body", b"R\x01\xff\xff\xff\x7f" + message(HEARTBEAT, 1, 2))
    write("raft_codec", "trailing_bytes", batch([message(HEARTBEAT, 1, 2)]) + b"\0")
    write("raft_codec", "conf_entry_bootstrap", conf_entry(3, 1, b"", [1], []))
    write("raft_codec", "conf_entry_unsorted_voters", conf_entry(2, 2, b"x", [3, 1], [2]))


# --- command: replicated-state log entries ------------------------------------------------------

def command_seeds():
    write("command", "patch_config", json.dumps({"op": "patch_config", "patch": {"max_covers": 5}}))
    write("command", "add_cover_with_blob",
          json.dumps({"op": "add_cover", "name": "sky.png", "request": {"key": "k1", "digest": "d1"}}).encode() +
          b"\0" + png(1, 1, 8, 2))
    write("command", "nul_without_blob", b'{"op":"delete_key","id":"abc"}\0')
    write("command", "op_not_string", '{"op": 5}')
    write("command", "not_an_object", '["op", "patch_config"]')
    write("command", "request_not_object", '{"op":"x","request":"k","n":1.5e300,"u":"\\u00e9\\ud83d\\ude00"}')
    write("command", "nul_in_header", b'{"op":"a\0b"}')
    write("command", "truncated", '{"op":"patch_config","patch":{"max_')


# --- config_patch: PUT /api/v1/config bodies -----------------------------------------------------

def config_patch_seeds():
    seeds = {
        "empty": {},
        "integers": {"default_lsb_bits": 2, "max_pixels": 1000000, "job_retention": 50},
        "bounds": {"max_covers": 1, "max_library_bytes": 805306368, "max_cover_bytes": 1024},
        "cors_origins": {"cors_origins": ["HTTP://Example.COM/", "https://[::1]:8443", "*", "http://example.com"]},
        "out_of_range": {"max_pixels": 63},
        "unknown_key": {"max_jobs": 5},
        "wrong_types": {"default_lsb_bits": 2.0, "cors_origins": "http://a"},
        "bad_origin": {"cors_origins": ["http://a/path", "ftp://b", "http://c:0"]},
        "huge_unsigned": {"max_covers": 18446744073709551615},
    }
    for name, patch in seeds.items():
        write("config_patch", name, json.dumps(patch))
    write("config_patch", "not_an_object", "[1, 2]")


# --- watch_stream: watch answer bodies -----------------------------------------------------------

def watch_event(kind, name, version, **extra):
    obj = {"kind": "StegoCluster", "apiVersion": "stego.example.com/v1",
           "metadata": {"name": name, "namespace": "default", "resourceVersion": version}, **extra}
    return json.dumps({"type": kind, "object": obj}) + "\n"


def watch_stream_seeds():
    bookmark = json.dumps({"type": "BOOKMARK", "object": {"kind": "StegoCluster",
                                                        "metadata": {"resourceVersion": "130"}}}) + "\n"
    expired = json.dumps({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                                      "message": "too old resource version: 1 (120)",
                                                      "reason": "Expired", "code": 410}}) + "\n"
    write("watch_stream", "added_modified_deleted",
          watch_event("ADDED", "a", "101", spec={"replicas": 3}) + watch_event("MODIFIED", "a", "102") +
          watch_event("DELETED", "a", "103"))
    write("watch_stream", "bookmark", watch_event("ADDED", "b", "129") + bookmark)
    write("watch_stream", "expired_then_more", watch_event("ADDED", "c", "5") + expired + watch_event("ADDED", "d", "6"))
    write("watch_stream", "unreadable_line", watch_event("ADDED", "e", "7") + "{not json\n" + bookmark)
    write("watch_stream", "partial_last_line", watch_event("ADDED", "f", "8") + watch_event("ADDED", "g", "9")[:40])
    write("watch_stream", "blank_lines_crlf", "\n\n" + watch_event("ADDED", "h", "10").replace("\n", "\r\n") + "\n")
    write("watch_stream", "unknown_type", json.dumps({"type": "SYNC", "object": {}}) + "\n")
    write("watch_stream", "error_without_status", '{"type":"ERROR"}\n')


# --- kubeconfig ------------------------------------------------------------------------------------

def kubeconfig_seeds():
    import base64
    pem = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode()
    write("kubeconfig", "client_certificate_data", f"""apiVersion: v1
kind: Config
current-context: admin@test
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: {pem}
users:
- name: admin
  user:
    client-certificate-data: {pem}
    client-key-data: {pem}
contexts:
- name: admin@test
  context: {{cluster: test, user: admin, namespace: stego}}
""")
    write("kubeconfig", "token_and_files", """current-context: token
clusters:
- name: c
  cluster:
    server: http://localhost:8080
    certificate-authority: ca.crt
    insecure-skip-tls-verify: true
users:
- name: u
  user:
    tokenFile: /var/run/token
    client-certificate: certs/client.crt
    client-key: /abs/client.key
contexts:
- name: token
  context:
    cluster: c
    user: u
- name: other
  context: {cluster: missing}
""")
    write("kubeconfig", "static_token_anonymous_context", """{"current-context": "anon",
 "clusters": [{"name": "c", "cluster": {"server": "https://[::1]:6443"}}],
 "users": [{"name": "u", "user": {"token": "abc.def"}}],
 "contexts": [{"name": "anon", "context": {"cluster": "c"}}, {"name": "t", "context": {"cluster": "c", "user": "u"}}]}
""")
    write("kubeconfig", "exec_plugin_refused", """current-context: x
clusters: [{name: c, cluster: {server: "https://h"}}]
users: [{name: u, user: {exec: {command: aws}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
""")
    write("kubeconfig", "missing_ca_file", """current-context: x
clusters: [{name: c, cluster: {server: "https://h", certificate-authority: missing-ca.pem}}]
contexts: [{name: x, context: {cluster: c}}]
""")
    write("kubeconfig", "bad_base64_and_anchor", """current-context: &ctx x
clusters: [{name: c, cluster: {server: "https://h", certificate-authority-data: "%%%"}}]
contexts: [{name: *ctx, context: {cluster: c}}]
""")
    write("kubeconfig", "name_is_a_map", """current-context: x
clusters: [{name: {a: b}, cluster: {server: "https://h"}}]
contexts: [{name: x, context: {cluster: c}}]
""")
    write("kubeconfig", "not_a_map", "- just\n- a list\n")
    write("kubeconfig", "tls_server_name_refused", """current-context: x
clusters: [{name: c, cluster: {server: "https://h", tls-server-name: foo}}]
contexts: [{name: x, context: {cluster: c}}]
""")


if __name__ == "__main__":
    image_probe_seeds()
    container_seeds()
    raft_codec_seeds()
    command_seeds()
    config_patch_seeds()
    watch_stream_seeds()
    kubeconfig_seeds()
    for target in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        print(f"{target.name}: {sum(1 for _ in target.iterdir())} seeds")
