"""Importing good input: text, JSONL, CSV and BRAT files become the documents, sentences and attributions they hold."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from helpers import run_import, write

from stancelabel.core.model import Document
from stancelabel.io.importer import ImportReport
from stancelabel.store.project import Project

# -- helpers -------------------------------------------------------------------------------


def documents(project: Project) -> list[Document]:
    return [project.document(s.id) for s in project.document_summaries()]


def by_external_id(project: Project) -> dict[str, Document]:
    return {d.external_id: d for d in documents(project)}


def sentence_texts(project: Project, document: Document) -> list[str]:
    """The stored sentences as text, checked to be ordered, non-empty and trimmed slices."""
    out = []
    previous_end = 0
    for i, sentence in enumerate(project.sentences(document.id)):
        assert sentence.index == i
        assert previous_end <= sentence.start < sentence.end <= len(document.text)
        piece = document.text[sentence.start:sentence.end]
        assert piece.strip() and piece == piece.strip(), f"sentence {i} is {piece!r}"
        out.append(piece)
        previous_end = sentence.end
    return out


def assert_clean(report: ImportReport) -> None:
    assert report.errors == []
    assert not report.interrupted


def span(text: str, fragment: str) -> tuple[int, int]:
    """Offsets of the only occurrence of fragment in text."""
    start = text.index(fragment)
    assert text.find(fragment, start + 1) == -1, f"{fragment!r} is not unique in the test text"
    return start, start + len(fragment)


def t_line(ident: str, kind: str, text: str, *fragments: str) -> str:
    """A BRAT text-bound line covering the fragments (discontinuous when several)."""
    spans = [span(text, f) for f in fragments]
    offsets = ";".join(f"{s} {e}" for s, e in spans)
    return f"{ident}\t{kind} {offsets}\t" + " ".join(text[s:e] for s, e in spans)


def ann(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


# A small article of our own: "Bob said" is in the second sentence.
ARTICLE = "Anna arrived early. Bob said the river had risen.\nThen he left for home.\n"


def simple_ann(text: str = ARTICLE, content: str = "the river had risen") -> str:
    """Source Bob, cue said, the given content, tied together by E1."""
    return ann(
        t_line("T1", "Source", text, "Bob"),
        t_line("T2", "Cue", text, "said"),
        t_line("T3", "Content", text, content),
        t_line("T4", "Attribution", text, "said"),
        "E1\tAttribution:T4 Content:T3 Cue:T2 Source:T1",
    )


def only_document(project: Project) -> Document:
    docs = documents(project)
    assert len(docs) == 1, [d.external_id for d in docs]
    return docs[0]


# -- plain text ----------------------------------------------------------------------------


def test_txt_file_is_one_document_named_by_stem_with_sentences(make_project, blank_nlp, tmp_path):
    project = make_project()
    path = write(tmp_path / "in" / "river-report.txt", ARTICLE)

    report = run_import(project, [path], blank_nlp)

    assert_clean(report)
    assert (report.files, report.documents_added, report.sentences_added) == (1, 1, 3)
    doc = only_document(project)
    assert doc.external_id == "river-report"
    assert doc.text == ARTICLE
    assert doc.source_file == str(path)
    assert sentence_texts(project, doc) == [
        "Anna arrived early.", "Bob said the river had risen.", "Then he left for home."]


def test_txt_folder_gives_one_document_per_file(make_project, blank_nlp, tmp_path):
    project = make_project()
    folder = tmp_path / "texts"
    write(folder / "first.txt", "The first text. It has two sentences.\n")
    write(folder / "second.txt", "The second text is short.\n")
    write(folder / "nested" / "third.txt", "A third text, in a subfolder.\n")

    report = run_import(project, [folder], blank_nlp)

    assert_clean(report)
    assert report.documents_added == 3
    docs = by_external_id(project)
    assert sorted(docs) == ["first", "second", "third"]
    assert docs["second"].text == "The second text is short.\n"
    assert sentence_texts(project, docs["first"]) == ["The first text.", "It has two sentences."]


ACCENTED = "Zoë said «non». Ça va.\n"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(ACCENTED.encode(), ACCENTED, id="utf8"),
        pytest.param(b"\xef\xbb\xbf" + ACCENTED.encode(), ACCENTED, id="bom"),
        pytest.param(b"One line.\r\nTwo lines.\r\n", "One line.\nTwo lines.\n", id="crlf"),
        pytest.param(b"One line.\rTwo lines.\r", "One line.\nTwo lines.\n", id="lone-cr"),
        pytest.param(b"\xef\xbb\xbfMixed.\r\nEndings.\rHere.\n", "Mixed.\nEndings.\nHere.\n", id="bom-mixed"),
    ],
)
def test_txt_decoding_strips_bom_and_normalises_newlines(make_project, blank_nlp, tmp_path, raw, expected):
    project = make_project()
    report = run_import(project, [write(tmp_path / "doc.txt", raw)], blank_nlp)

    assert_clean(report)
    doc = only_document(project)
    assert doc.text == expected
    assert "\ufeff" not in doc.text and "\r" not in doc.text
    assert sentence_texts(project, doc)  # offsets still slice the normalised text


def test_txt_sentences_skip_surrounding_whitespace_and_blank_paragraphs(make_project, blank_nlp, tmp_path):
    project = make_project()
    text = "   \n  A first sentence here.  \n\n\n\t  And a second one!   \n\n   "
    run_import(project, [write(tmp_path / "spaced.txt", text)], blank_nlp)

    doc = only_document(project)
    assert doc.text == text
    assert sentence_texts(project, doc) == ["A first sentence here.", "And a second one!"]


# -- JSONL ---------------------------------------------------------------------------------


def test_jsonl_ids_meta_blank_lines_and_generated_ids(make_project, blank_nlp, tmp_path):
    project = make_project()
    path = write(tmp_path / "feed.jsonl", "\n".join([
        '{"id": "story-a", "text": "Story A is here.", "meta": {"outlet": "Daily", "year": 2016}}',
        '',
        '{"id": 7, "text": "Story seven.\\r\\nSecond line."}',
        '   ',
        '{"text": "A story without an id."}',
        '',
    ]))

    report = run_import(project, [path], blank_nlp)

    assert_clean(report)
    assert report.documents_added == 3
    docs = by_external_id(project)
    assert sorted(docs) == ["7", "feed:5", "story-a"]
    assert docs["story-a"].meta == {"outlet": "Daily", "year": 2016}
    assert docs["story-a"].text == "Story A is here."
    assert docs["7"].text == "Story seven.\nSecond line."
    assert docs["feed:5"].text == "A story without an id."
    assert docs["feed:5"].meta == {}
    assert sentence_texts(project, docs["7"]) == ["Story seven.", "Second line."]


def test_jsonl_line_separator_inside_a_string_does_not_split_the_line(make_project, blank_nlp, tmp_path):
    project = make_project()
    text = "Before the separator.\u2028After it.\u2029And a paragraph sign."
    line = '{"id": "sep", "text": "' + text + '"}'
    path = write(tmp_path / "sep.jsonl", line + "\n" + '{"id": "next", "text": "The next line."}\n')

    report = run_import(project, [path], blank_nlp)

    assert_clean(report)
    docs = by_external_id(project)
    assert sorted(docs) == ["next", "sep"]
    assert docs["sep"].text == text


# -- CSV -----------------------------------------------------------------------------------


def test_csv_comma_with_id_column_and_other_columns_in_meta(make_project, blank_nlp, tmp_path):
    project = make_project()
    path = write(tmp_path / "news.csv", (
        "id,outlet,text\n"
        'n1,Daily,"Anna said, loudly, that it rained."\n'
        "n2,Weekly,Bob disagreed.\n"
    ))

    report = run_import(project, [path], blank_nlp)

    assert_clean(report)
    docs = by_external_id(project)
    assert sorted(docs) == ["n1", "n2"]
    assert docs["n1"].text == "Anna said, loudly, that it rained."
    assert docs["n1"].meta == {"outlet": "Daily"}
    assert docs["n2"].meta == {"outlet": "Weekly"}


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("semi.csv", "id;text;outlet\nn1;Anna said, twice, that it rained.;Daily\n"
                     "n2;Bob, however, disagreed.;Weekly\n", id="semicolon"),
        pytest.param("tabs.tsv", "id\ttext\toutlet\nn1\tAnna said, twice, that it rained.\tDaily\n"
                     "n2\tBob, however, disagreed.\tWeekly\n", id="tab"),
    ],
)
def test_csv_dialect_is_sniffed(make_project, blank_nlp, tmp_path, name, content):
    project = make_project()
    report = run_import(project, [write(tmp_path / name, content)], blank_nlp)

    assert_clean(report)
    docs = by_external_id(project)
    assert docs["n1"].text == "Anna said, twice, that it rained."
    assert docs["n2"].text == "Bob, however, disagreed."
    assert docs["n2"].meta == {"outlet": "Weekly"}


def test_csv_quoted_multiline_cells(make_project, blank_nlp, tmp_path):
    project = make_project()
    path = write(tmp_path / "multi.csv", (
        "id,text\r\n"
        '1,"First paragraph.\r\n\r\nSecond paragraph, with a comma."\r\n'
        "2,A single line.\r\n"
    ))

    report = run_import(project, [path], blank_nlp)

    assert_clean(report)
    docs = by_external_id(project)
    assert docs["1"].text == "First paragraph.\n\nSecond paragraph, with a comma."
    assert sentence_texts(project, docs["1"]) == ["First paragraph.", "Second paragraph, with a comma."]
    assert docs["2"].text == "A single line."


def test_csv_text_and_id_columns_chosen_by_options(make_project, blank_nlp, tmp_path):
    project = make_project()
    path = write(tmp_path / "articles.csv", (
        "ref,id,body\n"
        "r-1,x,The body of the first article.\n"
        "r-2,y,The body of the second article.\n"
    ))

    report = run_import(project, [path], blank_nlp, text_column="body", id_column="ref")

    assert_clean(report)
    docs = by_external_id(project)
    assert sorted(docs) == ["r-1", "r-2"]
    assert docs["r-2"].text == "The body of the second article."
    assert docs["r-2"].meta == {"id": "y"}


CSV_ROWS = [
    ("1", "Anna called the plan 'fine' and left.", "wire"),
    ("2", 'Bob said "no", then "yes".\nHe left; later he returned.', "web"),
    ("3", "Plain text here.", "blog"),
]


@pytest.mark.parametrize("quoting", [csv.QUOTE_MINIMAL, csv.QUOTE_ALL], ids=["minimal", "all"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_csv_written_by_the_csv_module_reads_back_exactly(make_project, blank_nlp, tmp_path, delimiter, quoting):
    """Any valid CSV (quotes doubled, cells quoted when needed) gives back the very cells written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator="\n")
    writer.writerow(["id", "text", "source"])
    writer.writerows(CSV_ROWS)
    project = make_project()

    report = run_import(project, [write(tmp_path / "written.csv", buffer.getvalue())], blank_nlp)

    assert_clean(report)
    docs = by_external_id(project)
    assert [(d.external_id, d.text, d.meta) for d in docs.values()] == [
        (i, text, {"source": source}) for i, text, source in CSV_ROWS]


def test_csv_quoted_cells_with_single_quoted_words_keep_their_text(make_project, blank_nlp, tmp_path):
    """Numeric ids bare, texts in double quotes (csv.QUOTE_NONNUMERIC, pandas' usual output)."""
    project = make_project()
    path = write(tmp_path / "nonnumeric.csv", (
        "id,text\n"
        "1,\"Anna called the plan 'fine' and left.\"\n"
        "2,\"Plain text here.\"\n"
    ))

    report = run_import(project, [path], blank_nlp)

    assert_clean(report)
    docs = by_external_id(project)
    assert docs["1"].text == "Anna called the plan 'fine' and left."
    assert docs["2"].text == "Plain text here."


# -- BRAT ----------------------------------------------------------------------------------


def only_attribution(project: Project, document: Document):
    found = project.attributions(document.id)
    assert len(found) == 1, found
    return found[0]


def test_brat_flat_folder_with_annotator_in_the_file_name(make_project, blank_nlp, tmp_path):
    project = make_project()
    folder = tmp_path / "brat"
    write(folder / "river.txt", ARTICLE)
    write(folder / "river_ann1.ann", simple_ann())

    report = run_import(project, [folder], blank_nlp)

    assert_clean(report)
    assert (report.documents_added, report.attributions_added) == (1, 1)
    doc = only_document(project)
    assert doc.external_id == "river"
    assert doc.text == ARTICLE
    attribution = only_attribution(project, doc)
    assert attribution.source == (span(ARTICLE, "Bob"),)
    assert attribution.cue == (span(ARTICLE, "said"),)
    assert attribution.content == (span(ARTICLE, "the river had risen"),)
    assert attribution.origin == "imported"
    assert attribution.sentence_index == 1
    assert project.attribution_authors(attribution.id) == ["ann1"]
    assert project.annotators() == ["ann1"]


def test_brat_text_and_attributions_subfolders_detected_automatically(make_project, blank_nlp, tmp_path):
    project = make_project()
    corpus = tmp_path / "corpus"
    write(corpus / "text" / "river.txt", ARTICLE)
    write(corpus / "attributions" / "river_x1.ann", simple_ann())
    write(corpus / "text" / "plain.txt", "A text nobody annotated.\n")

    report = run_import(project, [corpus], blank_nlp)

    assert_clean(report)
    docs = by_external_id(project)
    assert sorted(docs) == ["plain", "river"]
    assert len(project.attributions(docs["river"].id)) == 1
    assert project.attributions(docs["plain"].id) == []


def test_brat_ann_without_annotator_in_name_takes_the_option(make_project, blank_nlp, tmp_path):
    folder = tmp_path / "brat"
    write(folder / "river.txt", ARTICLE)
    write(folder / "river.ann", simple_ann())

    named = make_project("named.stance")
    assert_clean(run_import(named, [folder], blank_nlp, annotator="carol"))
    attribution = only_attribution(named, only_document(named))
    assert named.attribution_authors(attribution.id) == ["carol"]

    anonymous = make_project("anonymous.stance")
    assert_clean(run_import(anonymous, [folder], blank_nlp))
    attribution = only_attribution(anonymous, only_document(anonymous))
    assert anonymous.attribution_authors(attribution.id) == []


def test_brat_single_ann_file_as_the_path(make_project, blank_nlp, tmp_path):
    project = make_project()
    folder = tmp_path / "brat"
    write(folder / "river.txt", ARTICLE)
    path = write(folder / "river_ann1.ann", simple_ann())
    write(folder / "other.txt", "Another text that was not asked for.\n")

    report = run_import(project, [path], blank_nlp)

    assert_clean(report)
    doc = only_document(project)
    assert doc.external_id == "river"
    assert len(project.attributions(doc.id)) == 1


def test_brat_single_ann_file_in_attributions_finds_its_text_in_the_sibling_folder(make_project, blank_nlp, tmp_path):
    project = make_project()
    corpus = tmp_path / "corpus"
    write(corpus / "text" / "river.txt", ARTICLE)
    path = write(corpus / "attributions" / "river_ann1.ann", simple_ann())
    write(corpus / "attributions" / "river_ann2.ann", "")

    report = run_import(project, [path], blank_nlp)

    assert_clean(report)
    doc = only_document(project)
    assert doc.external_id == "river"
    attribution = only_attribution(project, doc)
    assert project.attribution_authors(attribution.id) == ["ann1"]


DISCONTINUOUS = '"Prices," Bob said on Monday, "will rise soon."\nNobody replied.\n'


def test_brat_discontinuous_span_with_fragments_joined_by_a_space(make_project, blank_nlp, tmp_path):
    project = make_project()
    folder = tmp_path / "brat"
    write(folder / "prices.txt", DISCONTINUOUS)
    line = t_line("T3", "Content", DISCONTINUOUS, "Prices,", "will rise soon.")
    assert line.endswith("\tPrices, will rise soon.")
    write(folder / "prices_a.ann", ann(
        t_line("T1", "Source", DISCONTINUOUS, "Bob"),
        t_line("T2", "Cue", DISCONTINUOUS, "said"),
        line,
        "E1\tAttribution:T2 Cue:T2 Content:T3 Source:T1",
    ))

    report = run_import(project, [folder], blank_nlp)

    assert_clean(report)
    attribution = only_attribution(project, only_document(project))
    assert attribution.content == (span(DISCONTINUOUS, "Prices,"), span(DISCONTINUOUS, "will rise soon."))
    assert attribution.sentence_index == 0


def test_brat_numbered_content_role_and_missing_source(make_project, blank_nlp, tmp_path):
    project = make_project()
    folder = tmp_path / "brat"
    write(folder / "prices.txt", DISCONTINUOUS)
    write(folder / "prices_a.ann", ann(
        t_line("T2", "Cue", DISCONTINUOUS, "said"),
        t_line("T3", "Content", DISCONTINUOUS, "Prices,"),
        t_line("T5", "Content", DISCONTINUOUS, "will rise soon."),
        "E1\tAttribution:T2 Cue:T2 Content:T3 Content2:T5",
    ))

    assert_clean(run_import(project, [folder], blank_nlp))

    attribution = only_attribution(project, only_document(project))
    assert attribution.source == ()
    assert attribution.cue == (span(DISCONTINUOUS, "said"),)
    assert attribution.content == (span(DISCONTINUOUS, "Prices,"), span(DISCONTINUOUS, "will rise soon."))


def test_brat_span_text_with_a_newline_continues_on_the_next_ann_line(make_project, blank_nlp, tmp_path):
    project = make_project()
    folder = tmp_path / "brat"
    write(folder / "river.txt", ARTICLE)
    content = "the river had risen.\nThen he left"
    ann_text = simple_ann(content=content)
    assert "risen.\nThen he left\nT4\t" in ann_text  # the span really spills onto the next line
    write(folder / "river_ann1.ann", ann_text)

    report = run_import(project, [folder], blank_nlp)

    assert_clean(report)
    attribution = only_attribution(project, only_document(project))
    assert attribution.content == (span(ARTICLE, content),)
    assert attribution.cue == (span(ARTICLE, "said"),)


def test_brat_notes_and_other_lines_are_ignored_with_a_warning(make_project, blank_nlp, tmp_path):
    project = make_project()
    folder = tmp_path / "brat"
    write(folder / "river.txt", ARTICLE)
    path = write(folder / "river_ann1.ann", simple_ann() + ann(
        "#1\tAnnotatorNotes T1\tnot sure about this one",
        "A1\tUncertain E1",
        "R1\tSameAs Arg1:T1 Arg2:T2",
    ))

    report = run_import(project, [folder], blank_nlp)

    assert report.errors == []
    assert report.attributions_added == 1
    assert len(report.warnings) == 1
    assert report.warnings[0].startswith(str(path))
    assert "3" in report.warnings[0]


def test_brat_events_without_cue_and_content_are_skipped_with_a_warning(make_project, blank_nlp, tmp_path):
    project = make_project()
    folder = tmp_path / "brat"
    write(folder / "river.txt", ARTICLE)
    path = write(folder / "river_ann1.ann", simple_ann() + ann(
        t_line("T5", "Source", ARTICLE, "Anna"),
        t_line("T6", "Attribution", ARTICLE, "arrived"),
        "E2\tAttribution:T6 Source:T5",
        "E3\tAttribution:T6",
    ))

    report = run_import(project, [folder], blank_nlp)

    assert report.errors == []
    attribution = only_attribution(project, only_document(project))
    assert attribution.cue == (span(ARTICLE, "said"),)
    assert len(report.warnings) == 1
    assert report.warnings[0].startswith(str(path))
    assert "skipped 2" in report.warnings[0]


def test_brat_several_annotators_of_one_text_make_one_document(make_project, blank_nlp, tmp_path):
    project = make_project()
    folder = tmp_path / "brat"
    write(folder / "river.txt", ARTICLE)
    write(folder / "river_alice.ann", simple_ann())
    write(folder / "river_bob.ann", simple_ann() + ann(
        t_line("T5", "Cue", ARTICLE, "arrived"),
        t_line("T6", "Source", ARTICLE, "Anna"),
        "E2\tAttribution:T5 Cue:T5 Source:T6",
    ))
    write(folder / "river_dora.ann", "")  # an annotator who marked nothing

    report = run_import(project, [folder], blank_nlp)

    assert_clean(report)
    doc = only_document(project)
    assert report.attributions_added == 2
    assert set(project.annotators()) == {"alice", "bob", "dora"}
    authors = {a.cue: project.attribution_authors(a.id) for a in project.attributions(doc.id)}
    assert authors == {
        (span(ARTICLE, "said"),): ["alice", "bob"],
        (span(ARTICLE, "arrived"),): ["bob"],
    }
    indexes = {a.cue: a.sentence_index for a in project.attributions(doc.id)}
    assert indexes == {(span(ARTICLE, "said"),): 1, (span(ARTICLE, "arrived"),): 0}


def test_brat_copies_of_one_text_in_two_folders_are_one_document(make_project, blank_nlp, tmp_path):
    project = make_project()
    for who in ("alice", "bob"):
        write(tmp_path / who / "river.txt", ARTICLE)
        write(tmp_path / who / f"river_{who}.ann", simple_ann())

    report = run_import(project, [tmp_path / "alice", tmp_path / "bob"], blank_nlp)

    assert_clean(report)
    assert report.documents_added == 1
    attribution = only_attribution(project, only_document(project))
    assert project.attribution_authors(attribution.id) == ["alice", "bob"]


def test_brat_folders_with_same_named_different_texts_give_two_documents(make_project, blank_nlp, tmp_path):
    """Two BRAT folders in one run, each with its own story.txt: each .ann stays with its own text."""
    project = make_project()
    other = "Carl said the bridge had fallen.\nNobody believed him.\n"
    for who, text in (("alice", ARTICLE), ("bob", other)):
        write(tmp_path / who / "story.txt", text)
        write(tmp_path / who / f"story_{who}.ann", ann(
            t_line("T1", "Cue", text, "said"), "E1\tAttribution:T1 Cue:T1"))

    report = run_import(project, [tmp_path / "alice", tmp_path / "bob"], blank_nlp)

    assert_clean(report)
    assert report.documents_added == 2
    docs = {d.text: d for d in documents(project)}
    assert sorted(docs) == sorted([ARTICLE, other])
    for text, who in ((ARTICLE, "alice"), (other, "bob")):
        attribution = only_attribution(project, docs[text])
        assert attribution.cue == (span(text, "said"),)
        assert project.attribution_authors(attribution.id) == [who]


# -- duplicates and provenance -------------------------------------------------------------


def test_importing_the_same_text_again_adds_nothing(make_project, blank_nlp, tmp_path):
    project = make_project()
    path = write(tmp_path / "river.txt", ARTICLE)
    assert run_import(project, [path], blank_nlp).documents_added == 1
    before = project.stats()

    copy = write(tmp_path / "again" / "river-copy.txt", ARTICLE)
    report = run_import(project, [path, copy], blank_nlp)

    assert_clean(report)
    assert (report.documents_added, report.documents_present, report.sentences_added) == (0, 2, 0)
    assert project.stats() == before
    assert only_document(project).external_id == "river"


def test_the_same_text_twice_in_one_run_is_one_document(make_project, blank_nlp, tmp_path):
    project = make_project()
    first = write(tmp_path / "a.txt", ARTICLE)
    second = write(tmp_path / "b.jsonl", json.dumps({"id": "b", "text": ARTICLE}) + "\n")

    report = run_import(project, [first, second], blank_nlp)

    assert_clean(report)
    assert (report.documents_added, report.documents_present) == (1, 1)
    doc = only_document(project)
    assert doc.external_id == "a"
    assert project.stats()["sentences"] == 3


def test_brat_after_plain_text_attaches_attributions_to_the_existing_document(make_project, blank_nlp, tmp_path):
    project = make_project()
    folder = tmp_path / "brat"
    text_path = write(folder / "river.txt", ARTICLE)
    write(folder / "river_ann1.ann", simple_ann())
    assert run_import(project, [text_path], blank_nlp).documents_added == 1
    doc = only_document(project)
    sentences = project.sentences(doc.id)

    report = run_import(project, [folder], blank_nlp)

    assert_clean(report)
    assert (report.documents_added, report.documents_present, report.attributions_added) == (0, 1, 1)
    assert only_document(project) == doc
    assert project.sentences(doc.id) == sentences
    attribution = only_attribution(project, doc)
    assert attribution.origin == "imported"
    assert attribution.sentence_index == 1
    assert project.attribution_authors(attribution.id) == ["ann1"]


def test_brat_after_plain_text_with_crlf_attaches_to_the_existing_document(make_project, blank_nlp, tmp_path):
    """A Windows-saved text imported first as .txt, then with its .ann: still one document."""
    project = make_project()
    folder = tmp_path / "brat"
    text = "Bob said it rained.\r\nAnna agreed.\r\n"
    text_path = write(folder / "rain.txt", text)
    write(folder / "rain_ann1.ann", ann(
        t_line("T1", "Source", text, "Bob"),
        t_line("T2", "Cue", text, "said"),
        t_line("T3", "Content", text, "it rained"),
        "E1\tAttribution:T2 Cue:T2 Content:T3 Source:T1",
    ))
    assert run_import(project, [text_path], blank_nlp).documents_added == 1

    report = run_import(project, [folder], blank_nlp)

    assert report.errors == []
    assert project.document_count() == 1
    assert report.attributions_added == 1


def test_import_run_records_the_pipeline(make_project, blank_nlp, tmp_path):
    project = make_project()
    _, info = blank_nlp
    run_import(project, [write(tmp_path / "one.txt", "One text.\n")], blank_nlp)
    run_import(project, [write(tmp_path / "two.jsonl", '{"text": "Two texts."}\n')], blank_nlp, format="jsonl")

    runs = project.imports()

    assert [(r["pipeline_name"], r["pipeline_version"]) for r in runs] == [(info.name, info.version)] * 2
    assert info.name == "blank:en" and info.version
    assert [r["format"] for r in runs] == ["auto", "jsonl"]
    assert [r["documents"] for r in runs] == [1, 1]
    assert all(r["finished_at"] for r in runs)


# -- the shared corpora --------------------------------------------------------------------


def test_polnear_multi_six_annotators_per_article(make_project, blank_nlp, shared_data):
    project = make_project()

    report = run_import(project, [shared_data / "polnear-multi"], blank_nlp, format="brat")

    assert_clean(report)
    assert report.documents_added == 4
    assert project.document_count() == 4
    assert len(project.annotators()) == 6
    assert report.attributions_added > 0
    stats = project.stats()
    assert stats["attributions"] == report.attributions_added
    assert stats["by_origin"] == {"imported": report.attributions_added}
    for doc in documents(project):
        assert project.attributions(doc.id), doc.external_id
        sentence_texts(project, doc)


def test_polnear_train_articles_copied_into_a_folder(make_project, blank_nlp, shared_data, tmp_path):
    train = shared_data / "polnear-train"
    texts = sorted((train / "text").glob("*.txt"))[:3]
    corpus = tmp_path / "corpus"
    expected_annotators = set()
    for text in texts:
        (corpus / "text").mkdir(parents=True, exist_ok=True)
        shutil.copy(text, corpus / "text" / text.name)
        anns = sorted((train / "attributions").glob(f"{text.stem}_*.ann"))
        assert anns, text.name
        for path in anns:
            (corpus / "attributions").mkdir(parents=True, exist_ok=True)
            shutil.copy(path, corpus / "attributions" / path.name)
            expected_annotators.add(path.stem[len(text.stem) + 1:])
    project = make_project()

    report = run_import(project, [corpus], blank_nlp)

    assert_clean(report)
    assert report.documents_added == 3
    assert sorted(d.external_id for d in documents(project)) == [t.stem for t in texts]
    assert set(project.annotators()) == expected_annotators
    for doc in documents(project):
        assert doc.text == (train / "text" / f"{doc.external_id}.txt").read_bytes().decode("utf-8-sig")
        attributions = project.attributions(doc.id)
        assert attributions, doc.external_id
        assert all(a.origin == "imported" and a.sentence_index is not None for a in attributions)


# -- the command line ----------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from stancelabel.cli.main import main

    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_imports_good_files_with_exit_0_and_a_summary(tmp_path, capsys):
    project_path = tmp_path / "cli.stance"
    text = write(tmp_path / "river.txt", ARTICLE)
    feed = write(tmp_path / "feed.jsonl", '{"id": "f1", "text": "A feed item. It has two sentences."}\n')
    table = write(tmp_path / "table.csv", "ref,body\nr1,A row of the table.\n")

    code, out, err = run_cli(capsys, "import", str(project_path), str(text), str(feed),
                             "--model", "blank:en", "--no-detect")
    assert (code, err) == (0, "")
    assert "2 document(s) imported (5 sentences, 0 attributions) with blank:en" in out

    code, out, err = run_cli(capsys, "import", str(project_path), str(table), "--model", "blank:en",
                             "--text-column", "body", "--id-column", "ref")
    assert (code, err) == (0, "")
    assert "1 document(s) imported" in out

    with Project.open(project_path) as project:
        assert sorted(by_external_id(project)) == ["f1", "r1", "river"]
        assert project.get_setting("pipeline") == "blank:en"
