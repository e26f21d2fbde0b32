// Package report builds impact reports from the correlation engine's
// results (incidents, suspects, cascade, regions, change failure rate, error
// series) and from the store's health tables (dead letters, ingest
// offsets), renders them as markdown, HTML or JSON with embedded templates
// and SVG charts (dashboards/chart), writes them atomically, and runs report
// schedules (cron expressions) with an optional webhook.
//
// Every number in a report comes from the same engine calls that the named
// queries answer, so a report and `faultline query` never disagree.
//
// report reads through the Source and Stats interfaces; it must not import
// ingest's Kafka code, dashboards or cmd. A failing schedule is logged and
// retried at its next time; Scheduler.Run never returns an error that would
// stop the process around it.
package report
