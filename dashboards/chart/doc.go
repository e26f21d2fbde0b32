// Package chart draws small, static SVG charts from data: a multi-series
// line (or area) chart over time with vertical change markers, and a
// timeline of horizontal bars (the cascade of an incident across services).
//
// Output is deterministic: the same input gives byte-identical SVG (fixed
// palette by series index, fixed number formatting, UTC times, no random
// ids), so reports built from it can be golden-tested. The SVG needs no
// script, stylesheet, font file or network access; it can be inlined in
// HTML or written to a .svg file.
//
// chart is pure: it must not import DuckDB, queries or net/http.
package chart
