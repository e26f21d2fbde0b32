// Package report builds impact reports from the read model's answers
// (incidents, suspects, cascade, regions, change failure rate, error series,
// the window's totals, dead letters and ingest positions), renders them as
// markdown, HTML or JSON with embedded templates and SVG charts
// (dashboards/chart; ErrorLines turns error series into chart lines for the
// reports and the dashboards alike), writes them atomically, and runs report
// schedules (cron expressions) with an optional webhook.
//
// Every number in a report comes from the same engine calls that the named
// queries answer, so a report and `faultline query` never disagree.
//
// report reads through the Source interface (Impact, Series, Stats:
// *queries.Engine or dashboards/client); it runs no SQL and must not import
// ingest, dashboards or cmd. A failing schedule is logged and retried at its
// next time; Scheduler.Run never returns an error that would stop the
// process around it.
package report
