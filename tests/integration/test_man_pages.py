"""The man pages scripts/gen-man writes from the binaries' own --help and
--options-reference: each page renders without a groff warning, petrel.conf(5) lists every
option of the table with its default and status, each tool's page lists every flag its
--help prints, petrel(8) has its signals and files, the example configuration is valid, and
the same inputs give the same bytes.

The broker binary is --petrel-bin (else $PETREL_BIN, else build/release); the tools are
found as the command-line tool tests find them (test_cli_support.tools_dir:
$PETREL_TOOLS_DIR, else build/{release,debug}/tools). No broker is started.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DEFAULT_PETREL
from test_cli_support import tools_dir

pytestmark = pytest.mark.petrel_only("Petrel's own manual pages")

REPO = Path(__file__).resolve().parents[2]
GEN_MAN = REPO / "scripts" / "gen-man"
TOOLS = ("petrel_pub", "petrel_sub", "petrel_rr", "petrel_passwd", "petrel_bench")
RUN_TIMEOUT = 120
WIDTH = 160  # rendering width: wide enough that option tags and usage flags fit on a line


# ---- helpers -------------------------------------------------------------------------------

def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL, **kw)


def help_of(binary: str) -> str:
    """What `binary --help` prints (the tools exit 1 after it), with a HOME of its own so
    no defaults file of the user running the tests takes part."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PETREL_"))}
    env["HOME"] = "/nonexistent"
    p = run([binary, "--help"], env=env)
    assert p.stdout.strip(), f"{binary} --help printed nothing: {p.stderr}"
    return p.stdout


def need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.skip(f"{program} is not installed (Debian: groff-base, man-db)")
    return path


def render(page: Path, width: int = WIDTH) -> str:
    """The page as plain text (no bold, underline or colour)."""
    p = run([need("groff"), "-man", "-Tutf8", "-P-cbou", f"-rLL={width}n", page])
    assert p.returncode == 0, p.stderr
    return p.stdout


def flat(text: str) -> str:
    """Whitespace runs as one space: wrapped lines compare with unwrapped text."""
    return " ".join(text.split())


def section(text: str, name: str) -> str:
    """One top-level section of rendered text: from its heading to the next heading."""
    m = re.search(rf"^{re.escape(name)}\n(.*?)(?=^[A-Z][A-Z ]*\n|\Z)", text, re.M | re.S)
    assert m, f"no {name} section in:\n{text[:2000]}"
    return m.group(1)


def entry(text: str, tag_start: str) -> str:
    """The .TP entry whose tag line starts with `tag_start`: the tag line and the indented
    lines under it."""
    m = re.search(rf"^( {{3,8}}){re.escape(tag_start)}(?=[ ,]|$).*\n((?:\1 +.*\n|\n)*)", text, re.M)
    assert m, f"no entry for {tag_start!r}"
    return m.group(0)


def reference_rows(md: str) -> list[dict[str, str]]:
    """The option table of `petrel --options-reference`, parsed here on its own (not with
    the generator's code): one dict per row, keyed by the header's column names."""
    rows, header = [], None
    for line in md.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if header is None:
            header = [c.lower() for c in cells]
        elif not all(set(c) <= set("-: ") for c in cells):
            rows.append(dict(zip(header, cells)))
    return rows


def plain_md(text: str) -> str:
    """Markdown inline text as it reads once rendered: no backticks or emphasis stars."""
    text = re.sub(r"`([^`]*)`", r"\1", text)
    return re.sub(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])", r"\1", text)


def help_flags(text: str) -> list[str]:
    """Every flag --help mentions: -x and --long-name tokens (not the hyphens inside words
    such as fan-in or sha512-pbkdf2)."""
    seen: list[str] = []
    for f in re.findall(r"(?<![\w-])(--?[A-Za-z][A-Za-z0-9-]*)", text):
        if f not in seen:
            seen.append(f)
    return seen


def usage_forms(text: str, program: str) -> list[str]:
    """The usage forms of a --help text, continuation lines joined."""
    forms: list[str] = []
    in_usage = False
    for line in text.splitlines():
        m = re.match(r"^\s*usage:\s*(.*)$", line, re.I)
        if m:
            forms.append(m.group(1).strip())
            in_usage = True
        elif in_usage and (line.strip() == program or line.strip().startswith(program + " ")):
            forms.append(line.strip())
        elif in_usage and line.strip() and len(line) - len(line.lstrip()) >= 7:
            forms[-1] += " " + line.strip()
        else:
            in_usage = False
    return forms


def help_tags(text: str) -> list[str]:
    """What --help's flag lines put before the description: "-c, --config-file FILE",
    "--persistence-check [FILE]", "-b" (from "-b : ..."); a page's entry must be tagged
    with exactly that (plus, for "-b : ..." lines, the argument the usage shows)."""
    tags = []
    for line in text.splitlines():
        if not re.match(r"^ {1,6}-", line):
            continue
        m = re.match(r"^\s*(\S.*?)(?:\s{2,}|\s:\s)\S", line)
        if m:
            tags.append(m.group(1))
        elif len(line.split()) <= 2:  # the description follows on the next lines
            tags.append(line.strip())
    return tags


def help_descriptions(text: str) -> list[str]:
    """The description text of --help's flag lines: what follows the gap after the flag
    ("-c, --config-file FILE  read ...", " -b : run ...") and the continuation lines."""
    out: list[str] = []
    in_usage = False
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        if re.match(r"^\s*usage:", line, re.I):
            in_usage = True
            continue
        if in_usage and line.strip() and indent >= 7:
            continue
        in_usage = False
        if re.match(r"^ {1,6}-", line):
            m = re.search(r"\S(?:\s{2,}|\s:\s)(\S.*)$", line)
            if m:
                out.append(m.group(1))
        elif indent > 6 and line.strip():
            out.append(line.strip())
    return out


# ---- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def petrel(request) -> str:
    b = request.config.getoption("--petrel-bin") or os.environ.get("PETREL_BIN") or str(DEFAULT_PETREL)
    if not Path(b).is_file():
        pytest.skip(f"petrel binary not found: {b}")
    return str(Path(b).resolve())


@pytest.fixture(scope="module")
def tools(petrel) -> dict[str, str]:
    """The tool binaries: all five from tools_dir(), else petrel_passwd next to petrel
    (a build without the client tools)."""
    d = tools_dir()
    found: dict[str, str] = {}
    for name in TOOLS:
        for cand in ([d / name / name] if d else []) + \
                [Path(petrel).parent.parent.parent / "tools" / name / name]:
            if cand.is_file():
                found[name] = str(cand)
                break
    return found


def gen_man(petrel: str, tools: dict[str, str], out: Path, env: dict | None = None,
            version: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, GEN_MAN, "--petrel", petrel, "--out", out]
    for path in tools.values():
        cmd += ["--tool", path]
    if version:
        cmd += ["--version", version]
    return run(cmd, env=env)


@pytest.fixture(scope="module")
def pages(petrel, tools, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("man")
    p = gen_man(petrel, tools, out)
    assert p.returncode == 0, f"gen-man failed: {p.stderr}"
    return out


def page_names(tools: dict[str, str]) -> list[str]:
    return ["petrel.8", "petrel.conf.5"] + [f"{t}.1" for t in TOOLS if t in tools]


ALL_PAGES = ["petrel.8", "petrel.conf.5"] + [f"{t}.1" for t in TOOLS]


def page_or_skip(pages: Path, tools: dict[str, str], name: str) -> Path:
    if name not in page_names(tools):
        pytest.skip(f"{name[:-2]} is not built (set PETREL_TOOLS_DIR)")
    return pages / name


# ---- every page ----------------------------------------------------------------------------

def test_gen_man_writes_one_page_per_binary(pages, tools):
    assert sorted(p.name for p in pages.iterdir()) == sorted(page_names(tools))


@pytest.mark.parametrize("name", ALL_PAGES)
def test_page_renders_without_warnings(pages, tools, name):
    page = page_or_skip(pages, tools, name)
    p = run([need("groff"), "-man", "-Tutf8", "-ww", "-z", page])
    assert p.returncode == 0 and p.stderr == "", f"groff warns about {name}:\n{p.stderr}"
    # man(1) formats at the reader's width: a narrow terminal must not make lines that
    # cannot be broken either.
    for width in ("80", "60"):
        env = dict(os.environ, MANWIDTH=width, LC_ALL="C.UTF-8", MANPAGER="cat", PAGER="cat")
        m = run([need("man"), "--warnings", "-l", page], env=env)
        assert m.returncode == 0 and m.stderr == "", f"man -l {name} at width {width}:\n{m.stderr}"


@pytest.mark.parametrize("name", ALL_PAGES)
def test_page_has_name_and_synopsis(pages, tools, name):
    page = page_or_skip(pages, tools, name)
    env = dict(os.environ, MANWIDTH=str(WIDTH), LC_ALL="C.UTF-8", MANPAGER="cat", PAGER="cat")
    m = run([need("man"), "-l", page], env=env)
    assert m.returncode == 0, m.stderr
    text = re.sub(r".\x08", "", m.stdout)  # in case man kept overstriking
    lines = text.splitlines()
    assert "NAME" in lines and "SYNOPSIS" in lines, text[:1500]
    program = name.rsplit(".", 1)[0]
    assert re.search(rf"^\s+{re.escape(program)} - \S", section(text, "NAME"), re.M), \
        section(text, "NAME")
    assert section(text, "SYNOPSIS").strip()
    th = re.search(r'^\.TH "([^"]+)" (\d) "([^"]*)" "([^"]+)" "([^"]+)"$', page.read_text(), re.M)
    assert th and th.group(1) == program.upper() and th.group(2) == name[-1], th
    assert th.group(4).startswith("Petrel "), th.group(4)


# ---- petrel.conf(5) ------------------------------------------------------------------------

def test_conf_page_lists_every_option_with_default_and_status(pages, petrel):
    md = run([petrel, "--options-reference"]).stdout
    rows = reference_rows(md)
    assert len(rows) > 100, f"--options-reference has only {len(rows)} rows"
    text = render(pages / "petrel.conf.5")
    options = section(text, "OPTIONS")
    problems = []
    for row in rows:
        name = row["option"].strip("`")
        try:
            e = flat(entry(options, name))
        except AssertionError:
            problems.append(f"{name}: no entry")
            continue
        if not flat(plain_md(row["description"])) in e:
            problems.append(f"{name}: description {row['description']!r} not in {e!r}")
        if row["default"] != "-" and f"Default: {flat(plain_md(row['default']))}" not in e:
            problems.append(f"{name}: default {row['default']!r} not in {e!r}")
        status = row["status"]
        if status != "supported" and f"Status: {status}" not in e:
            problems.append(f"{name}: status {status!r} not in {e!r}")
        if status == "supported" and "Status:" in e:
            problems.append(f"{name}: a supported option shows a status: {e!r}")
        values = flat(row["values"].strip("`"))
        if values and not e.startswith(f"{name} {values}"):
            problems.append(f"{name}: values {values!r} not in the tag of {e!r}")
    assert not problems, "\n".join(problems)


def test_conf_page_groups_options_by_scope(pages, petrel):
    rows = reference_rows(run([petrel, "--options-reference"]).stdout)
    options = section(render(pages / "petrel.conf.5"), "OPTIONS")
    # Subsection headings are indented 3 columns; each option's entry sits under its scope's.
    headings = [(m.start(), m.group(1)) for m in re.finditer(r"^   (\S.*)$", options, re.M)]
    assert len(headings) == len({r["scope"] for r in rows}), headings
    for row in rows:
        name = row["option"].strip("`")
        at = re.search(rf"^ {{7}}{re.escape(name)}(?=[ ,]|$)", options, re.M).start()
        heading = [h for pos, h in headings if pos < at][-1]
        scope_words = set(re.findall(r"[a-z]+", row["scope"]))
        assert scope_words <= set(re.findall(r"[a-z]+", heading.lower())), (name, row["scope"], heading)


def test_conf_page_describes_the_file_syntax(pages):
    text = flat(render(pages / "petrel.conf.5"))
    for words in ("#", "include_dir", "listener", "connection", "per_listener_settings",
                  "--test-config", "/etc/petrel/conf.d"):
        assert words in text, words


def test_conf_page_example_is_a_valid_configuration(pages, petrel, tools, tmp_path):
    """The EXAMPLES configuration, with its paths moved under tmp_path, passes
    petrel --test-config."""
    src = (pages / "petrel.conf.5").read_text()
    m = re.search(r'^\.SH "EXAMPLES"\n.*?^\.nf\n(.*?)^\.fi$', src, re.M | re.S)
    assert m, "no EXAMPLES block"
    example = m.group(1).replace("\\&", "").replace("\\-", "-").replace("\\e", "\\")
    assert "listener" in example
    roots = {"/etc/petrel/": tmp_path / "etc", "/var/lib/petrel/": tmp_path / "lib",
             "/var/log/petrel/": tmp_path / "log"}
    for prefix, d in roots.items():
        d.mkdir()
        example = example.replace(prefix, f"{d}/")
        example = example.replace(prefix.rstrip("/"), str(d))
    (tmp_path / "etc" / "conf.d").mkdir()
    passwd = tools.get("petrel_passwd")
    if passwd is None:
        pytest.skip("petrel_passwd is not built")
    for f in re.findall(r"^\S*password_file\s+(\S+)", example, re.M):
        p = run([passwd, "-c", "-b", f, "admin", "secret"])
        assert p.returncode == 0, p.stderr
    conf = tmp_path / "example.conf"
    conf.write_text(example)
    p = run([petrel, "-c", conf, "--test-config"], cwd=tmp_path)
    assert p.returncode == 0, f"the example does not pass --test-config:\n{example}\n{p.stdout}{p.stderr}"


# ---- petrel(8) -----------------------------------------------------------------------------

def test_petrel_page_lists_every_flag_of_its_help(pages, petrel):
    check_flags(pages / "petrel.8", help_of(petrel), "petrel")


def test_petrel_page_has_signals_files_and_see_also(pages):
    text = render(pages / "petrel.8")
    signals = section(text, "SIGNALS")
    for sig in ("SIGHUP", "SIGINT", "SIGTERM", "SIGUSR1", "SIGUSR2"):
        assert re.search(rf"^ {{7}}(\S+, )*{sig}\b", signals, re.M), f"{sig} has no entry:\n{signals}"
    assert "log" in flat(entry(signals, "SIGHUP")) and "configuration" in flat(entry(signals, "SIGHUP"))
    files = section(text, "FILES")
    for path in ("/etc/petrel/petrel.conf", "/etc/petrel/conf.d/", "/var/lib/petrel/", "/var/log/petrel/"):
        assert re.search(rf"^ {{7}}{re.escape(path)}$", files, re.M), f"{path} not in FILES:\n{files}"
    assert "petrel.conf(5)" in flat(section(text, "SEE ALSO"))


# ---- the tools -----------------------------------------------------------------------------

def check_flags(page: Path, help_text: str, program: str):
    """Every flag --help names has an entry in OPTIONS; every usage form is the page's
    SYNOPSIS word for word; every flag description --help prints is in the page."""
    text = render(page)
    options = section(text, "OPTIONS")
    missing = []
    for flag in help_flags(help_text):
        if not re.search(rf"^ {{7}}(\S+, )*{re.escape(flag)}(?=[ ,]|$)", options, re.M):
            missing.append(flag)
    assert not missing, f"{page.name}: no OPTIONS entry for {missing}\n{options}"
    for tag in help_tags(help_text):
        assert re.search(rf"^ {{7}}{re.escape(tag)}( |$)", options, re.M), \
            f"{page.name}: no OPTIONS entry tagged {tag!r}\n{options}"
    synopsis = flat(section(text, "SYNOPSIS"))
    for form in usage_forms(help_text, program):
        assert flat(form) in synopsis, f"{page.name}: usage {form!r} not in SYNOPSIS {synopsis!r}"
    whole = flat(text)
    for d in help_descriptions(help_text):
        assert flat(d.replace("`", "")) in whole, f"{page.name}: --help text {d!r} not in the page"


@pytest.mark.parametrize("tool", TOOLS)
def test_tool_page_lists_every_flag_of_its_help(pages, tools, tool):
    page = page_or_skip(pages, tools, f"{tool}.1")
    check_flags(page, help_of(tools[tool]), tool)


# ---- the generator -------------------------------------------------------------------------

def test_output_is_reproducible(petrel, tools, tmp_path):
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        p = gen_man(petrel, tools, out, env=env)
        assert p.returncode == 0, p.stderr
    for name in page_names(tools):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
        assert '"2023-11-14"' in (a / name).read_text().replace("\\-", "-"), name


def test_version_goes_into_every_page(petrel, tools, tmp_path):
    p = gen_man(petrel, tools, tmp_path, version="9.8.7")
    assert p.returncode == 0, p.stderr
    for name in page_names(tools):
        assert '"Petrel 9.8.7"' in (tmp_path / name).read_text(), name


def fake_petrel(tmp_path: Path, petrel: str, extra_row: str | None, table: bool = True) -> Path:
    """A petrel that answers like the real one, with one more option row (or no table)."""
    fake = tmp_path / "petrel"
    ref = "" if not table else f'"{petrel}" --options-reference'
    row = f"printf '%s\\n' '{extra_row}'" if extra_row else ":"
    fake.write_text("#!/bin/sh\n"
                    f'if [ "$1" = --options-reference ]; then {ref or "echo no table here"}; {row}; '
                    f'else exec "{petrel}" "$@"; fi\n')
    fake.chmod(0o755)
    return fake


def test_pages_follow_the_option_table_of_the_binary(petrel, tmp_path):
    """An option the binary adds is in the next pages, with its status: the generator holds
    no copy of the table."""
    row = "| `zz_made_up_option` | bridge | `A\\|B` | 7 | not ready (test) | Made-up option of the test |"
    fake = fake_petrel(tmp_path, petrel, row)
    out = tmp_path / "out"
    p = gen_man(str(fake), {}, out)
    assert p.returncode == 0, p.stderr
    options = section(render(out / "petrel.conf.5"), "OPTIONS")
    e = flat(entry(options, "zz_made_up_option"))
    assert e.startswith("zz_made_up_option A|B Made-up option of the test."), e
    assert "Default: 7" in e and "Status: not ready (test)" in e, e


def test_generator_fails_without_an_option_table(petrel, tmp_path):
    fake = fake_petrel(tmp_path, petrel, None, table=False)
    out = tmp_path / "out"
    p = gen_man(str(fake), {}, out)
    assert p.returncode != 0 and "option table" in p.stderr, (p.returncode, p.stderr)
    assert not (out / "petrel.conf.5").exists()


def test_tools_dir_finds_build_and_install_layouts(petrel, tools, tmp_path):
    if len(tools) < len(TOOLS):
        pytest.skip("not every tool is built")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, path in tools.items():
        (bindir / name).symlink_to(path)
    env = dict(os.environ, SOURCE_DATE_EPOCH="0")
    for layout in (Path(tools["petrel_pub"]).parent.parent, bindir):
        out = tmp_path / ("out-" + layout.name)
        p = run([sys.executable, GEN_MAN, "--petrel", petrel, "--tools-dir", layout, "--out", out], env=env)
        assert p.returncode == 0, p.stderr
        assert sorted(f.name for f in out.iterdir()) == sorted(ALL_PAGES)
    p = run([sys.executable, GEN_MAN, "--petrel", petrel, "--tools-dir", tmp_path / "none",
             "--out", tmp_path / "x"])
    assert p.returncode != 0 and "petrel_pub" in p.stderr, p.stderr
