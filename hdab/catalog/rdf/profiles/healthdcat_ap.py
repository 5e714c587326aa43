"""HealthDCAT-AP Release 8: HDAB, custodian, health categories, variables, coverage, purpose, legal basis."""

from __future__ import annotations

from typing import Any, TypeVar

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS
from rdflib.term import Node

from hdab.catalog.domain import (
    Activity,
    Coarsening,
    Column,
    DatasetRecord,
    DisclosureRole,
    LegalBasis,
    Purpose,
    QualityAnnotation,
    Table,
    TableGroup,
)
from hdab.catalog.rdf.namespaces import CSVW, DCAT, DPV, DQV, GEODCATAP, HDAB, HEALTHDCATAP, OA
from hdab.catalog.rdf.profiles.base import (
    add_int,
    add_iri,
    add_iris,
    add_lang_strings,
    add_period,
    add_text,
    objects,
    read_int,
    read_iri,
    read_iris,
    read_lang_strings,
    read_literal,
    read_period,
    read_str,
    read_text,
    sub_iri,
)
from hdab.catalog.rdf.profiles.dcat_ap3 import read_agent, write_agent

_T = TypeVar("_T")

DISCLOSURE_ROLES = {
    DisclosureRole.DIRECT_IDENTIFIER: HDAB.DirectIdentifier,
    DisclosureRole.QUASI_IDENTIFIER: HDAB.QuasiIdentifier,
    DisclosureRole.SENSITIVE: HDAB.Sensitive,
    DisclosureRole.NON_IDENTIFYING: HDAB.NonIdentifying,
}
COARSENINGS = {Coarsening.MONTH: HDAB.ToMonth, Coarsening.YEAR: HDAB.ToYear, Coarsening.COUNTY: HDAB.ToCounty}


def _read_term(g: Graph, node: Node, p: URIRef, terms: dict[_T, URIRef], name: str) -> _T | None:
    """The one term of ours ``p`` names, or None; an IRI that is not one of ``terms`` is an error."""
    values = read_iris(g, node, p)
    allowed = ", ".join(f"hdab:{str(iri).rsplit('#', 1)[-1]}" for iri in terms.values())
    if any(not isinstance(o, URIRef) for o in g.objects(node, p)):
        # a literal ("non_identifying") would otherwise be dropped and leave the column unclassified
        raise ValueError(f"column {name}: {p.n3()} takes an IRI, one of {allowed}, not a literal")
    if not values:
        return None
    by_iri = {str(iri): value for value, iri in terms.items()}
    if len(values) > 1 or values[0] not in by_iri:
        raise ValueError(f"column {name}: {p.n3()} takes one of {allowed}")
    return by_iri[values[0]]


def _write_variables(g: Graph, record: DatasetRecord, node: URIRef) -> None:
    group = record.variables
    if group is None:
        return
    group_node = sub_iri(record.iri, "variables")
    g.add((node, HEALTHDCATAP.hasVariables, group_node))
    g.add((group_node, RDF.type, CSVW.TableGroup))
    add_text(g, group_node, DCTERMS.title, group.title)
    for table in group.tables:
        table_node = sub_iri(record.iri, f"table-{table.name}")
        g.add((group_node, CSVW.table, table_node))
        g.add((table_node, RDF.type, CSVW.Table))
        g.add((table_node, CSVW.name, Literal(table.name)))
        add_text(g, table_node, DCTERMS.title, table.title)
        add_text(g, table_node, DCTERMS.description, table.description)
        add_lang_strings(g, table_node, DCAT.keyword, table.keywords)
        add_iri(g, table_node, CSVW.url, table.url)
        for column in table.columns:
            column_node = sub_iri(record.iri, f"variable-{column.name}")
            g.add((table_node, CSVW.column, column_node))
            g.add((column_node, RDF.type, CSVW.Column))
            g.add((column_node, CSVW.name, Literal(column.name)))
            add_text(g, column_node, CSVW.title, column.title)
            add_text(g, column_node, DCTERMS.description, column.description)
            g.add((column_node, CSVW.datatype, Literal(column.datatype)))
            add_iri(g, column_node, HEALTHDCATAP.hasCodingSystem, column.coding_system, DCTERMS.Standard)
            add_iri(g, column_node, CSVW.propertyUrl, column.property_url)
            if column.disclosure is not None:
                g.add((column_node, HDAB.disclosureRole, DISCLOSURE_ROLES[column.disclosure]))
            if column.anonymised_as is not None:
                g.add((column_node, HDAB.anonymisedAs, COARSENINGS[column.anonymised_as]))


def _read_variables(g: Graph, node: URIRef) -> TableGroup | None:
    group_node = next(iter(objects(g, node, HEALTHDCATAP.hasVariables)), None)
    if group_node is None:
        return None
    tables = []
    for table_node in objects(g, group_node, CSVW.table):
        columns = []
        for column_node in objects(g, table_node, CSVW.column):
            name = read_str(g, column_node, CSVW.name)
            if name is None:
                raise ValueError(f"column {column_node.n3()} has no csvw:name")
            title = read_text(g, column_node, CSVW.title)
            description = read_text(g, column_node, DCTERMS.description)
            if title is None or description is None:
                raise ValueError(f"column {name} needs csvw:title and dct:description")
            columns.append(
                Column(
                    name=name,
                    title=title,
                    description=description,
                    datatype=read_str(g, column_node, CSVW.datatype) or "string",
                    coding_system=read_iri(g, column_node, HEALTHDCATAP.hasCodingSystem),
                    property_url=read_iri(g, column_node, CSVW.propertyUrl),
                    disclosure=_read_term(g, column_node, HDAB.disclosureRole, DISCLOSURE_ROLES, name),
                    anonymised_as=_read_term(g, column_node, HDAB.anonymisedAs, COARSENINGS, name),
                )
            )
        title = read_text(g, table_node, DCTERMS.title)
        if title is None:
            raise ValueError(f"table {table_node.n3()} has no dct:title")
        table_name = read_str(g, table_node, CSVW.name) or str(table_node).rsplit("table-", 1)[-1]
        tables.append(
            Table(
                name=table_name,
                title=title,
                columns=tuple(sorted(columns, key=lambda c: c.name)),
                description=read_text(g, table_node, DCTERMS.description),
                keywords=read_lang_strings(g, table_node, DCAT.keyword),
                url=read_iri(g, table_node, CSVW.url),
            )
        )
    title = read_text(g, group_node, DCTERMS.title)
    if title is None:
        raise ValueError("the variables (csvw:TableGroup) have no dct:title")
    return TableGroup(title=title, tables=tuple(sorted(tables, key=lambda t: t.name)))


class HealthDcatApProfile:
    """HealthDCAT-AP Release 8 additions for NON_PUBLIC datasets."""

    def write(self, record: DatasetRecord, g: Graph, node: URIRef) -> None:
        g.add((node, HEALTHDCATAP.hdab, write_agent(g, record.hdab)))
        if record.custodian is not None:
            g.add((node, GEODCATAP.custodian, write_agent(g, record.custodian)))
        add_iris(g, node, HEALTHDCATAP.healthCategory, record.health_categories)
        add_iris(g, node, HEALTHDCATAP.healthTheme, record.health_themes)
        add_iris(g, node, HEALTHDCATAP.hasCodingSystem, record.coding_systems, DCTERMS.Standard)
        for value in record.code_values:
            g.add((node, HEALTHDCATAP.hasCodeValues, Literal(value)))
        g.add((node, HEALTHDCATAP.hasStructuredData, Literal(record.has_structured_data)))
        _write_variables(g, record, node)
        add_int(g, node, HEALTHDCATAP.numberOfRecords, record.number_of_records)
        add_int(g, node, HEALTHDCATAP.numberOfUniqueIndividuals, record.number_of_unique_individuals)
        add_int(g, node, HEALTHDCATAP.minTypicalAge, record.min_typical_age)
        add_int(g, node, HEALTHDCATAP.maxTypicalAge, record.max_typical_age)
        add_text(g, node, HEALTHDCATAP.populationCoverage, record.population_coverage)
        if record.retention_period is not None:
            retention = sub_iri(record.iri, "retention")
            g.add((node, HEALTHDCATAP.retentionPeriod, retention))
            add_period(g, retention, record.retention_period, DCAT.startDate, DCAT.endDate)
        for index, purpose in enumerate(record.purposes, start=1):
            purpose_node = sub_iri(record.iri, f"purpose-{index}")
            g.add((node, DPV.hasPurpose, purpose_node))
            g.add((purpose_node, RDF.type, DPV.Purpose))
            add_text(g, purpose_node, DCTERMS.description, purpose.description)
        for index, basis in enumerate(record.legal_bases, start=1):
            basis_node = sub_iri(record.iri, f"legal-basis-{index}")
            g.add((node, DPV.hasLegalBasis, basis_node))
            g.add((basis_node, RDF.type, DPV.LegalBasis))
            add_text(g, basis_node, DCTERMS.description, basis.description)
            add_iri(g, basis_node, DCTERMS.source, basis.source)
        add_iris(g, node, DPV.hasPersonalData, record.personal_data, DPV.PersonalData)
        for index, annotation in enumerate(record.quality_annotations, start=1):
            annotation_node = sub_iri(record.iri, f"quality-{index}")
            g.add((node, DQV.hasQualityAnnotation, annotation_node))
            g.add((annotation_node, RDF.type, DQV.QualityCertificate))
            g.add((annotation_node, OA.hasTarget, node))
            g.add((annotation_node, OA.hasBody, URIRef(annotation.body)))
            g.add((annotation_node, OA.motivatedBy, DQV.qualityAssessment))
            add_text(g, annotation_node, RDFS.comment, annotation.description)
        if record.generated_by is not None:
            activity = sub_iri(record.iri, "activity")
            g.add((node, PROV.wasGeneratedBy, activity))
            g.add((activity, RDF.type, PROV.Activity))
            add_iri(g, activity, DCTERMS.type, record.generated_by.type, SKOS.Concept)
            add_text(g, activity, RDFS.label, record.generated_by.label)

    def read(self, g: Graph, node: URIRef, fields: dict[str, Any]) -> None:
        hdab = next(iter(objects(g, node, HEALTHDCATAP.hdab)), None)
        if hdab is None:
            raise ValueError(f"dataset {node.n3()} has no healthdcatap:hdab")
        custodian = next(iter(objects(g, node, GEODCATAP.custodian)), None)
        structured = read_literal(g, node, HEALTHDCATAP.hasStructuredData)
        retention = next(iter(objects(g, node, HEALTHDCATAP.retentionPeriod)), None)
        activity = next(iter(objects(g, node, PROV.wasGeneratedBy)), None)
        fields.update(
            hdab=read_agent(g, hdab, sub_iri(str(node), "hdab")),
            custodian=read_agent(g, custodian, sub_iri(str(node), "custodian"))
            if custodian is not None
            else None,
            health_categories=read_iris(g, node, HEALTHDCATAP.healthCategory),
            health_themes=read_iris(g, node, HEALTHDCATAP.healthTheme),
            coding_systems=read_iris(g, node, HEALTHDCATAP.hasCodingSystem),
            code_values=tuple(sorted({str(v) for v in g.objects(node, HEALTHDCATAP.hasCodeValues)})),
            has_structured_data=bool(structured) if structured is not None else False,
            variables=_read_variables(g, node),
            number_of_records=read_int(g, node, HEALTHDCATAP.numberOfRecords),
            number_of_unique_individuals=read_int(g, node, HEALTHDCATAP.numberOfUniqueIndividuals),
            min_typical_age=read_int(g, node, HEALTHDCATAP.minTypicalAge),
            max_typical_age=read_int(g, node, HEALTHDCATAP.maxTypicalAge),
            population_coverage=read_text(g, node, HEALTHDCATAP.populationCoverage),
            retention_period=(
                read_period(g, retention, DCAT.startDate, DCAT.endDate) if retention is not None else None
            ),
            purposes=tuple(
                sorted(
                    (Purpose(_text(g, p, DCTERMS.description)) for p in objects(g, node, DPV.hasPurpose)),
                    key=lambda p: p.description.en,
                )
            ),
            legal_bases=tuple(
                sorted(
                    (
                        LegalBasis(_text(g, b, DCTERMS.description), read_iri(g, b, DCTERMS.source))
                        for b in objects(g, node, DPV.hasLegalBasis)
                    ),
                    key=lambda b: (b.description.en, b.source or ""),
                )
            ),
            personal_data=read_iris(g, node, DPV.hasPersonalData),
            quality_annotations=tuple(
                sorted(
                    (
                        QualityAnnotation(
                            body=read_iri(g, a, OA.hasBody) or "", description=read_text(g, a, RDFS.comment)
                        )
                        for a in objects(g, node, DQV.hasQualityAnnotation)
                    ),
                    key=lambda a: a.body,
                )
            ),
            generated_by=(
                Activity(
                    type=read_iri(g, activity, DCTERMS.type) or "", label=read_text(g, activity, RDFS.label)
                )
                if activity is not None
                else None
            ),
        )


def _text(g: Graph, node: Node, predicate: URIRef) -> Any:
    text = read_text(g, node, predicate)
    if text is None:
        raise ValueError(f"{node.n3()} has no {predicate.n3()}")
    return text
