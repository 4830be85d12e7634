"""spaCy export: a DocBin that ``spacy train`` reads as it is.

One Doc per record (the sentences that hold the attribution), with ``doc.cats``
one-hot over the project's labels, for text classification, and the source,
cue and content in ``doc.spans["attribution"]`` (labels SOURCE, CUE, CONTENT),
for span categorisation. With ``per_doc``: one Doc per document, every
attribution's spans in ``doc.spans["attribution"]`` and each labelled content
in ``doc.spans["stance"]`` under its label. ``doc.user_data`` holds the target
claim (with the record's key, annotator and document id). Tokens come from spaCy's blank
English tokenizer; spans snap outward to whole tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any

from stancelabel.io.export import SPAN_LABELS


def write_docbin(records: Iterator[dict[str, Any]], out: IO[bytes], report, label_names: list[str],
                 per_doc: bool, document_text: Callable[[str], str]) -> None:
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    docs = DocBin(store_user_data=True)  # the target claim travels in doc.user_data
    if per_doc:
        _per_document(nlp, docs, records, report, document_text)
    else:
        for record in records:
            doc = nlp.make_doc(record["text"])
            doc.cats = {name: float(name == record["label"]) for name in label_names}
            doc.user_data.update({"target": record["target"], "key": record["key"], "annotator": record["annotator"],
                                  "doc_id": record["doc_id"]})
            doc.spans["attribution"] = [
                span for span in (doc.char_span(s["start"], s["end"], label=s["label"], alignment_mode="expand")
                                  for s in record["spans"]) if span is not None
            ]
            docs.add(doc)
            report.records += 1
    out.write(docs.to_bytes())


def _per_document(nlp, docs, records: Iterator[dict[str, Any]], report, document_text: Callable[[str], str]) -> None:
    current: list[dict[str, Any]] = []

    def flush() -> None:
        if not current:
            return
        doc = nlp.make_doc(document_text(current[0]["doc_sha256"]))
        doc.user_data.update({"doc_id": current[0]["doc_id"],
                              "targets": sorted({r["target"] for r in current if r["target"]})})
        roles, stances, seen = [], [], set()
        for record in current:
            if record["key"] not in seen:
                seen.add(record["key"])
                for role, label in SPAN_LABELS.items():
                    roles += [doc.char_span(s, e, label=label, alignment_mode="expand") for s, e in record[role]]
            if record["label"]:
                stances += [doc.char_span(s, e, label=record["label"], alignment_mode="expand")
                            for s, e in record["content"]]
        doc.spans["attribution"] = [span for span in roles if span is not None]
        doc.spans["stance"] = [span for span in stances if span is not None]
        docs.add(doc)
        current.clear()

    for record in records:
        if current and current[0]["doc_sha256"] != record["doc_sha256"]:
            flush()
        current.append(record)
        report.records += 1
    flush()
