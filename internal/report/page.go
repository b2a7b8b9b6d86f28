package report

import (
	"html/template"
	"strconv"
)

var funcs = template.FuncMap{
	"f4":  func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) },
	"pct": func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"share": func(v float64) string {
		return strconv.FormatFloat(100*v, 'f', 2, 64)
	},
	"add1": func(i int) int { return i + 1 },
}

// page is the report's HTML. Numbers a test checks carry data-key
// attributes; every style is inline in the page.
var page = template.Must(template.New("report").Funcs(funcs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>seqae report: {{.Title}} {{.From}}{{if ne .From .To}} to {{.To}}{{end}}</title>
<style>
body { font-family: 'Liberation Sans', Arial, Helvetica, sans-serif; margin: 24px auto; max-width: 1360px; padding: 0 16px; color: #111; line-height: 1.4; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 18px; border-bottom: 1px solid #ccc; padding-bottom: 2px; margin-top: 28px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
figure { margin: 0; }
figure svg { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #555; font-style: italic; }
.warn { color: #d55e00; font-weight: bold; }
.key { margin-right: 12px; white-space: nowrap; }
.key span { display: inline-block; width: 22px; height: 0; margin: 0 4px 3px 0; vertical-align: middle; }
.top { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.multiples { flex: 1 1 540px; display: grid; grid-template-columns: repeat(auto-fill, minmax(225px, 1fr)); gap: 10px 12px; }
.multiples figcaption { font-size: 13px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.multiples svg { width: 100%; height: auto; }
table.beside { flex: 0 1 auto; margin: 0; }
pre { background: #f6f6f6; padding: 8px; font-size: 12px; overflow-x: auto; max-height: 320px; }
.summary td { font-size: 14px; }
</style>
</head>
<body>
<h1>seqae report: {{.Title}}</h1>
<p>{{if eq .From .To}}Date {{.From}}{{else}}Dates {{.From}} to {{.To}}{{end}}.</p>

<table class="summary">
{{with .Scores}}<tr><th>sequences scored</th><td class="n" data-key="sequences">{{len .Score}}</td></tr>
<tr><th>anomalies</th><td class="n" data-key="anomalies">{{if .Calibrated}}{{.Anomalies}}{{else}}not calibrated{{end}}</td></tr>{{end}}
<tr><th>quarantined rows</th><td class="n" data-key="quarantined">{{.Quarantine.Total}}</td></tr>
{{with .Training}}<tr><th>model trained</th><td>{{.Date}}, {{len .Epochs}} epochs, best {{.Best}}</td></tr>{{end}}
</table>

<h2 id="training">Training</h2>
{{if .LossChart}}<p>Model <code>{{.Training.ModelID}}</code>, trained for {{.Training.Date}}: loss per epoch (the best epoch's weights are kept) and time per epoch.</p>
<div class="charts"><figure class="chart">{{.LossChart}}</figure><figure class="chart">{{.TimeChart}}</figure></div>
<details><summary>loss and time per epoch</summary>
<table><tr><th class="n">epoch</th><th class="n">train loss</th><th class="n">validation loss</th><th class="n">seconds</th></tr>
{{range .Training.Epochs}}<tr{{if eq .Epoch $.Training.Best}} class="warn" data-key="best-epoch"{{end}}><td class="n">{{.Epoch}}</td><td class="n">{{f4 .Train}}</td><td class="n">{{if .HasVal}}{{f4 .Val}}{{else}}–{{end}}</td><td class="n">{{f4 .Seconds}}</td></tr>
{{end}}</table></details>
{{else}}<p class="note">No training metrics for this model in the output folder.</p>{{end}}

<h2 id="scores">Scores</h2>
{{if .HistChart}}<p>Score: mean squared reconstruction error per step, in units of each feature's standard deviation squared.
{{if .Scores.Calibrated}}A sequence is an anomaly when its score reaches percentile {{.Scores.Percentile}} of the model's calibration scores of its length bucket{{if eq .Scores.Source "validation"}}: those of its validation sequences, held out from training{{else if .Scores.Source}}: those of every sequence it was trained and validated on (too few were held out for validation alone){{end}}.{{else}}<span class="warn">The model has no calibration: no percentiles or anomaly flags.</span>{{end}}</p>
<div class="charts"><figure class="chart">{{.HistChart}}</figure><figure class="chart">{{.ScatterChart}}</figure></div>
{{if .Scores.Thresholds}}<table><tr><th class="n">lengths from</th><th class="n">score threshold</th></tr>
{{range .Scores.Thresholds}}<tr data-threshold="{{.MinLen}}"><td class="n">{{.MinLen}}</td><td class="n">{{f4 .Score}}</td></tr>
{{end}}</table>{{end}}
{{else}}<p class="note">No sequences were scored{{if .Training}} (a training-only run){{end}}.</p>{{end}}

<h2 id="anomalies">Top anomalies</h2>
{{if .Top}}<p>The {{len .Top}} highest-scoring anomalies, numbered as in the table: the loss at each step{{if .FeatureKeys}} (black: the mean over features) and each feature's squared error:
{{range .FeatureKeys}}<span class="key" data-feature="{{.Name}}"><span style="border-top: 3px {{.Line}} {{.Color}}"></span>{{.Name}}</span>{{end}}{{else}}.{{end}}</p>
<div class="top">
<div class="multiples">{{range $i, $c := .TopCharts}}{{with index $.Top $i}}
<figure class="small" data-chart-id="{{.ID}}"><figcaption title="{{.ID}}">#{{add1 $i}} {{.ID}}</figcaption>{{$c}}</figure>{{end}}{{end}}
</div>
<table id="top" class="beside"><tr><th class="n">#</th>{{if ne .From .To}}<th>date</th>{{end}}<th>id</th><th class="n">length</th><th class="n">score</th><th class="n">percentile</th>{{range .PassNames}}<th>{{.}}</th>{{end}}</tr>
{{range $i, $a := .Top}}<tr data-id="{{$a.ID}}"><td class="n">{{add1 $i}}</td>{{if ne $.From $.To}}<td>{{$a.Date}}</td>{{end}}<td>{{$a.ID}}</td><td class="n">{{$a.Length}}</td><td class="n">{{f4 $a.Score}}</td><td class="n">{{pct $a.Percentile}}</td>{{range $a.Pass}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
</div>
{{else}}<p class="note" data-key="no-anomalies">{{if .Scores}}{{if .Scores.Calibrated}}No sequence reached the anomaly threshold.{{else}}No anomaly flags: the model has no calibration.{{end}}{{else}}No sequences were scored.{{end}}</p>{{end}}

<h2 id="quarantine">Quarantine</h2>
{{if .Quarantine.Total}}<table><tr><th>reason</th><th class="n">rows</th></tr>
{{range .Reasons}}<tr data-reason="{{.Reason}}"><td>{{.Reason}}</td><td class="n">{{.Count}}</td></tr>
{{end}}</table>
<table><tr>{{if ne .From .To}}<th>date</th>{{end}}<th>source file</th><th class="n">row</th><th>id</th><th>reason</th><th>detail</th></tr>
{{range .Quarantine.Examples}}<tr>{{if ne $.From $.To}}<td>{{.Date}}</td>{{end}}<td>{{.File}}</td><td class="n">{{.Row}}</td><td>{{.ID}}</td><td>{{.Reason}}</td><td>{{.Detail}}</td></tr>
{{end}}</table>
{{else}}<p class="note">No rows were quarantined.</p>{{end}}

<h2 id="drift">Drift</h2>
{{if .PSIChart}}<p>Each encode run's scores against the previous date encoded with the same model (or else the model's calibration scores): the population stability index over the baseline's deciles, and the share of anomalies.</p>
<div class="charts"><figure class="chart">{{.PSIChart}}</figure><figure class="chart">{{.ShareChart}}</figure></div>
<table><tr><th>date</th><th>baseline</th><th class="n">PSI</th><th class="n">anomalies (%)</th></tr>
{{range .Drift}}<tr data-date="{{.Date}}"><td>{{.Date}}</td><td>{{.Baseline}}</td><td class="n{{if and .HasPSI (gt .PSI $.WarnPSI)}} warn{{end}}">{{if .HasPSI}}{{f4 .PSI}}{{else}}–{{end}}</td><td class="n">{{if .HasShare}}{{share .AnomalyShare}}{{else}}–{{end}}</td></tr>
{{end}}</table>
{{else}}<p class="note">No drift rows in range.</p>{{end}}

<h2 id="provenance">Provenance</h2>
{{range .Runs}}<h3>{{.Table}} {{.Date}}</h3>
<table><tr><th>run id</th><td><code>{{.RunID}}</code></td></tr>
<tr><th>model id</th><td><code>{{.ModelID}}</code></td></tr>
<tr><th>phase</th><td>{{.Phase}}</td></tr>
<tr><th>input files</th><td>{{range .Inputs}}{{.}}<br>{{end}}</td></tr>
{{range .Counts}}<tr><th>{{index . 0}}</th><td class="n">{{index . 1}}</td></tr>
{{end}}</table>
<details><summary>job settings</summary><pre>{{.Config}}</pre></details>
{{else}}<p class="note">No committed partitions in range.</p>{{end}}
</body>
</html>
`))
