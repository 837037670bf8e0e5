"""Output previews of real Local jobs: the files Ganga copied to the output directories, where Ganga put them (a
split job's grid finds its subjobs' folders from the master's)."""
import base64
import sys

from GangaCore.testlib.decorators import add_config
from GangaCore.testlib.monitoring import run_until_state

RUNTIME = ("Configuration", "RUNTIME_PATH", "GangaJupyter")
# A 1x1 PNG, and a name that is HTML
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc000"
        "00030101001ef5e3a20000000049454e44ae426082"
    )
).decode()
HOSTILE = "<img src=x onerror=alert(1)>.png"
NOT_AN_IMAGE = ["-c", "open('fake.png', 'w').write('no plot'); print('no plot made')"]


def html_of(obj):
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(obj)
    return data.get("text/html")


def write_png(name: str) -> list[str]:
    return ["-c", f"import base64; open({name!r}, 'wb').write(base64.b64decode({PNG!r})); print('made', {name!r})"]


@add_config([RUNTIME])
def test_a_split_job_shows_its_subjobs_images_and_a_subjob_its_own_files(gpi):
    j = gpi.Job(
        application=gpi.Executable(exe=sys.executable),
        splitter=gpi.ArgSplitter(args=[write_png("plot.png"), write_png(HOSTILE), NOT_AN_IMAGE]),
        outputfiles=[gpi.LocalFile("*.png")],
        backend=gpi.Local(),
    )
    j.submit()
    gpi.enableMonitoring()  # off in the first bootstrap of a pytest process (Ganga pitfall)
    assert run_until_state(j, "completed", timeout=90, break_states=["failed", "killed"], sleep_period=0.2), j.status
    html = html_of(j)
    assert "Subjobs' images (3)" in html and html.count('src="data:image/png;base64,') == 2
    assert all(f"<strong>{j.id}.{i}</strong>" in html for i in range(3))
    assert "not an image" in html  # subjob 2's fake.png
    assert "onerror=alert" not in html.replace("&lt;img src=x onerror=alert(1)&gt;", "")
    sub = html_of(j.subjobs[2])
    assert "no plot made" in sub and "fake.png" in sub  # its stdout, and why its fake.png is not shown
