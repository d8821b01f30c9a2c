"""pipeline/ingest/vtt.py: Teams and Zoom WebVTT transcripts."""

from __future__ import annotations

import pytest

from pipeline.errors import InputError
from pipeline.ingest.vtt import read_vtt

TEAMS_NEW = """WEBVTT

3f1c2d/17-0
00:00:01.000 --> 00:00:04.000
<v Tom Ashdown>Thanks for joining &amp; welcome.</v>

3f1c2d/18-0
00:00:05.000 --> 00:00:09.000
<v Priya Chaudhry>It started in 2020, when</v>

3f1c2d/18-1
00:00:09.000 --> 00:00:12.000
<v Priya Chaudhry>the food response ended in Mar&#237;a's street.</v>

3f1c2d/19-0
00:00:13.000 --> 00:00:15.000
<v Tom Ashdown>Thank you.</v>
"""

TEAMS_OLD = """WEBVTT

NOTE old Teams export

0:0:0.0 --> 0:0:5.20
<v Tom Ashdown>Can you describe the hub?

0:0:5.20 --> 0:0:9.0
<v Priya Chaudhry>It sits in the surgery
two days a week.
"""

ZOOM = """WEBVTT

1
00:00:02.988 --> 00:00:10.296
Tom Ashdown: Right, we're recording.

2
00:00:11.293 --> 00:00:21.678
Jamal Haddad: So the food network is eleven food banks.

3
00:00:21.728 --> 00:00:30.959
Jamal Haddad: Everything else is volunteers.
"""


def write(tmp_path, text, name="t.vtt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_teams_split_cues_are_merged_and_entities_decoded(tmp_path):
    document = read_vtt(write(tmp_path, TEAMS_NEW), "interviews/t.vtt")
    assert document.source_format == "vtt-teams"
    assert [(b.speaker, b.text) for b in document.blocks] == [
        ("Tom Ashdown", "Thanks for joining & welcome."),
        ("Priya Chaudhry", "It started in 2020, when the food response ended in Mar\u00eda's street."),
        ("Tom Ashdown", "Thank you."),
    ]
    assert not any("-->" in b.text or "00:00" in b.text for b in document.blocks)


def test_old_teams_export_without_closing_tags_or_padded_times(tmp_path):
    document = read_vtt(write(tmp_path, TEAMS_OLD), "interviews/t.vtt")
    assert [(b.speaker, b.text) for b in document.blocks] == [
        ("Tom Ashdown", "Can you describe the hub?"),
        ("Priya Chaudhry", "It sits in the surgery two days a week."),
    ]


def test_zoom_speaker_labels(tmp_path):
    document = read_vtt(write(tmp_path, ZOOM), "interviews/z.vtt")
    assert document.source_format == "vtt-zoom"
    assert [(b.speaker, b.text) for b in document.blocks] == [
        ("Tom Ashdown", "Right, we're recording."),
        ("Jamal Haddad", "So the food network is eleven food banks. Everything else is volunteers."),
    ]


def test_a_zoom_cue_with_a_colon_but_no_name_is_text(tmp_path):
    # Cue 4 is an unidentified speaker whose words hold a colon; the
    # lower-case display name labels two cues, so it is a speaker.
    zoom = ZOOM + """
4
00:00:31.000 --> 00:00:34.000
To be honest: the network depends on three people.

5
00:00:34.000 --> 00:00:36.000
tom a: And the council?

6
00:00:36.000 --> 00:00:38.000
tom a: Just to check.
"""
    document = read_vtt(write(tmp_path, zoom), "interviews/z.vtt")
    assert [(b.speaker, b.text) for b in document.blocks][2:] == [
        ("", "To be honest: the network depends on three people."),
        ("tom a", "And the council? Just to check."),
    ]


def test_crlf_and_bom(tmp_path):
    path = tmp_path / "w.vtt"
    path.write_bytes(("\ufeff" + ZOOM).replace("\n", "\r\n").encode("utf-8"))
    assert len(read_vtt(path, "interviews/w.vtt").blocks) == 2


def test_not_webvtt_is_an_error(tmp_path):
    with pytest.raises(InputError, match="not a WebVTT"):
        read_vtt(write(tmp_path, "Hello\n"), "interviews/x.vtt")


def test_no_cues_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no cues"):
        read_vtt(write(tmp_path, "WEBVTT\n\n"), "interviews/x.vtt")


TWO_VOICES = """WEBVTT

a/1-0
00:00:01.000 --> 00:00:04.000
<v Tom Ashdown>How did that go?</v>

a/2-0
00:00:05.000 --> 00:00:09.000
<v Priya Chaudhry>It went well.</v><v Tom Ashdown>Great, thanks.</v>

a/3-0
0:0:9.0 --> 0:0:12.0
<v Priya Chaudhry>And the council
<v.loud Tom Ashdown>Sorry, go on.

a/4-0
00:00:12.000 --> 00:00:15.000
<v Priya Chaudhry>came on board.</v>
"""


def test_cue_with_two_voices_is_one_turn_per_voice(tmp_path):
    document = read_vtt(write(tmp_path, TWO_VOICES), "interviews/t.vtt")
    assert [(b.speaker, b.text) for b in document.blocks] == [
        ("Tom Ashdown", "How did that go?"),
        ("Priya Chaudhry", "It went well."),
        ("Tom Ashdown", "Great, thanks."),
        ("Priya Chaudhry", "And the council"),
        ("Tom Ashdown", "Sorry, go on."),
        ("Priya Chaudhry", "came on board."),
    ]


def test_text_outside_a_cue_joins_the_cue_before_it_with_a_warning(tmp_path, caplog):
    """A paragraph a transcriber typed after a blank line is kept, and the log says where it was."""
    text = ("WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.000\nDafydd Crowther: Could you introduce yourself?\n\n"
            "2\n00:00:03.500 --> 00:00:08.000\nMared Olowe-Finch: I run the larder.\n\n"
            "And the clinic on Thursdays.\n\n3\n00:00:08.500 --> 00:00:10.000\nDafydd Crowther: Thanks.\n")
    document = read_vtt(write(tmp_path, text), "interviews/z.vtt")
    assert [(b.speaker, b.text) for b in document.blocks] == [
        ("Dafydd Crowther", "Could you introduce yourself?"),
        ("Mared Olowe-Finch", "I run the larder. And the clinic on Thursdays."),
        ("Dafydd Crowther", "Thanks."),
    ]
    assert "interviews/z.vtt line 11: text outside any cue" in caplog.text


def test_a_repeated_teams_cue_is_read_once(tmp_path, caplog):
    repeated = TEAMS_NEW.replace("3f1c2d/19-0", "3f1c2d/18-1\n00:00:09.000 --> 00:00:12.000\n"
                                 "<v Priya Chaudhry>the food response ended in Mar&#237;a's street.</v>\n\n"
                                 "3f1c2d/19-0")
    document = read_vtt(write(tmp_path, repeated), "interviews/t.vtt")
    assert document.blocks[1].text == "It started in 2020, when the food response ended in Mar\u00eda's street."
    assert "a repeated cue (same timing and text) was read once" in caplog.text
