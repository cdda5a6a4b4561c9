package lint

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/toilhq/toil/analyzers"
	"github.com/toilhq/toil/lint"
)

// write prints the result in the chosen format on stdout.
func write(opts *Options, dir string, res *lint.Result) error {
	rel := relTo(dir)
	w := opts.IO.Out
	switch opts.Format {
	case "json":
		return writeJSON(w, rel, res)
	case "sarif":
		return writeSARIF(w, dir, rel, opts.Version, res)
	case "checkstyle":
		return writeCheckstyle(w, rel, res)
	case "github":
		writeGitHub(w, rel, res)
		return nil
	}
	if opts.IO.ColorEnabled() {
		writePretty(opts, rel, res)
		return nil
	}
	for _, e := range res.Errors {
		fmt.Fprintf(opts.IO.ErrOut, "toil lint: %s\n", packageErrorText(rel, e))
	}
	for _, f := range res.Findings {
		fmt.Fprintf(w, "%s:%d:%d: %s: %s\n", rel(f.Pos.Filename), f.Pos.Line, f.Pos.Column, f.Rule, message(f))
	}
	return nil
}

// writePretty groups findings by file for a person at a terminal.
func writePretty(opts *Options, rel func(string) string, res *lint.Result) {
	r := lipgloss.NewRenderer(opts.IO.Out)
	r.SetColorProfile(termenv.ANSI256)
	var (
		file = r.NewStyle().Bold(true).Foreground(lipgloss.Color("6"))
		pos  = r.NewStyle().Faint(true)
		rule = r.NewStyle().Foreground(lipgloss.Color("5")).Bold(true)
		bad  = r.NewStyle().Foreground(lipgloss.Color("1")).Bold(true)
		ok   = r.NewStyle().Foreground(lipgloss.Color("2")).Bold(true)
	)
	w := opts.IO.Out
	for _, e := range res.Errors {
		fmt.Fprintf(opts.IO.ErrOut, "%s %s\n", bad.Render("error"), packageErrorText(rel, e))
	}
	width := 0
	for _, f := range res.Findings {
		width = max(width, len(f.Rule))
	}
	last := ""
	files := 0
	for _, f := range res.Findings {
		if f.Pos.Filename != last {
			if last != "" {
				fmt.Fprintln(w)
			}
			last = f.Pos.Filename
			files++
			fmt.Fprintln(w, file.Render(rel(f.Pos.Filename)))
		}
		fmt.Fprintf(w, "  %s  %s  %s\n",
			pos.Render(fmt.Sprintf("%5d:%-3d", f.Pos.Line, f.Pos.Column)),
			rule.Render(fmt.Sprintf("%-*s", width, f.Rule)),
			message(f))
	}
	switch {
	case len(res.Findings) > 0:
		fmt.Fprintf(w, "\n%s in %s\n", bad.Render(plural(len(res.Findings), "finding")), plural(files, "file"))
	case len(res.Errors) == 0:
		fmt.Fprintf(w, "%s (%s)\n", ok.Render("no findings"), plural(res.Packages, "package"))
	}
}

type jsonFinding struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	EndLine   int    `json:"endLine"`
	EndColumn int    `json:"endColumn"`
	Rule      string `json:"rule"`
	Message   string `json:"message"`
	URL       string `json:"url,omitempty"`
	Fixable   bool   `json:"fixable"`
	// Deleted is, for a fixed finding, the statement --fix deleted.
	Deleted string `json:"deleted,omitempty"`
}

type jsonError struct {
	Package string `json:"package"`
	Dir     string `json:"dir"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func toJSON(rel func(string) string, fs []lint.Finding) []jsonFinding {
	out := make([]jsonFinding, 0, len(fs))
	for _, f := range fs {
		out = append(out, jsonFinding{
			File: rel(f.Pos.Filename), Line: f.Pos.Line, Column: f.Pos.Column,
			EndLine: f.End.Line, EndColumn: f.End.Column,
			Rule: f.Rule, Message: message(f), URL: f.URL, Fixable: len(f.Fixes) > 0,
		})
	}
	return out
}

func writeJSON(w io.Writer, rel func(string) string, res *lint.Result) error {
	doc := struct {
		Findings []jsonFinding `json:"findings"`
		Fixed    []jsonFinding `json:"fixed,omitempty"`
		Errors   []jsonError   `json:"errors"`
		Packages int           `json:"packages"`
	}{Findings: toJSON(rel, res.Findings), Errors: []jsonError{}, Packages: res.Packages}
	if len(res.Fixed) > 0 {
		doc.Fixed = toJSON(rel, res.Fixed)
		for i, d := range res.Deleted {
			if i < len(doc.Fixed) {
				doc.Fixed[i].Deleted = d.Text
			}
		}
	}
	for _, e := range res.Errors {
		je := jsonError{Package: e.ImportPath, Dir: rel(e.Dir), Message: e.Err.Error()}
		if e.Pos.IsValid() {
			je.File, je.Line, je.Column = rel(e.Pos.Filename), e.Pos.Line, e.Pos.Column
		}
		doc.Errors = append(doc.Errors, je)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// SARIF 2.1.0, the subset code scanning reads.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                   `json:"tool"`
	OriginalURIBaseIDs map[string]sarifArtifactLoc `json:"originalUriBaseIds,omitempty"`
	Results            []sarifResult               `json:"results"`
	Invocations        []sarifInvocation           `json:"invocations"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	ShortDescription sarifText      `json:"shortDescription"`
	HelpURI          string         `json:"helpUri,omitempty"`
	DefaultConfig    sarifRuleState `json:"defaultConfiguration"`
}

type sarifRuleState struct {
	Enabled bool   `json:"enabled"`
	Level   string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifactLoc `json:"artifactLocation"`
	Region           *sarifRegion     `json:"region,omitempty"`
}

type sarifArtifactLoc struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
	EndLine     int `json:"endLine,omitempty"`
	EndColumn   int `json:"endColumn,omitempty"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

// sarifURI is a relative file path as a URI reference (forward slashes,
// percent-encoded), resolved against %SRCROOT%.
func sarifURI(rel string) string {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func writeSARIF(w io.Writer, dir string, rel func(string) string, version string, res *lint.Result) error {
	driver := sarifDriver{Name: "toil", InformationURI: "https://github.com/toilhq/toil", Version: version, Rules: []sarifRule{}}
	index := map[string]int{}
	for _, r := range analyzers.Rules() {
		index[r.Name] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sarifRule{
			ID: r.Name, Name: r.Name, ShortDescription: sarifText{r.Doc}, HelpURI: r.URL,
			DefaultConfig: sarifRuleState{Enabled: r.Default, Level: "error"},
		})
	}
	loc := func(file string, line, col, endLine, endCol int) sarifLocation {
		l := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifactLoc{URI: sarifURI(rel(file)), URIBaseID: "%SRCROOT%"}}}
		if line > 0 {
			l.PhysicalLocation.Region = &sarifRegion{StartLine: line, StartColumn: col, EndLine: endLine, EndColumn: endCol}
		}
		return l
	}
	run := sarifRun{
		Tool:               sarifTool{Driver: driver},
		OriginalURIBaseIDs: map[string]sarifArtifactLoc{"%SRCROOT%": {URI: (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir) + "/"}).String()}},
		Results:            []sarifResult{},
		Invocations:        []sarifInvocation{{ExecutionSuccessful: len(res.Errors) == 0}},
	}
	for _, f := range res.Findings {
		i, ok := index[f.Rule]
		if !ok {
			// A rule outside analyzers.Rules (not expected): add it so the
			// result still points at a rule.
			i = len(run.Tool.Driver.Rules)
			index[f.Rule] = i
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: f.Rule, Name: f.Rule, ShortDescription: sarifText{f.Rule}, DefaultConfig: sarifRuleState{Enabled: true, Level: "error"}})
		}
		endLine, endCol := f.End.Line, f.End.Column
		if endLine == 0 {
			endLine, endCol = f.Pos.Line, f.Pos.Column
		}
		run.Results = append(run.Results, sarifResult{
			RuleID: f.Rule, RuleIndex: i, Level: "error", Message: sarifText{message(f)},
			Locations: []sarifLocation{loc(f.Pos.Filename, f.Pos.Line, f.Pos.Column, endLine, endCol)},
		})
	}
	for _, e := range res.Errors {
		n := sarifNotification{Level: "error", Message: sarifText{packageErrorText(rel, e)}}
		if e.Pos.IsValid() {
			n.Locations = []sarifLocation{loc(e.Pos.Filename, e.Pos.Line, e.Pos.Column, e.Pos.Line, e.Pos.Column)}
		}
		run.Invocations[0].Notifications = append(run.Invocations[0].Notifications, n)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

type checkstyleXML struct {
	XMLName xml.Name         `xml:"checkstyle"`
	Version string           `xml:"version,attr"`
	Files   []checkstyleFile `xml:"file"`
}

type checkstyleFile struct {
	Name   string            `xml:"name,attr"`
	Errors []checkstyleError `xml:"error"`
}

type checkstyleError struct {
	Line     int    `xml:"line,attr"`
	Column   int    `xml:"column,attr,omitempty"`
	Severity string `xml:"severity,attr"`
	Message  string `xml:"message,attr"`
	Source   string `xml:"source,attr"`
}

func writeCheckstyle(w io.Writer, rel func(string) string, res *lint.Result) error {
	doc := checkstyleXML{Version: "5.0"}
	byFile := map[string]int{}
	add := func(file string, e checkstyleError) {
		i, ok := byFile[file]
		if !ok {
			i = len(doc.Files)
			byFile[file] = i
			doc.Files = append(doc.Files, checkstyleFile{Name: file})
		}
		doc.Files[i].Errors = append(doc.Files[i].Errors, e)
	}
	for _, e := range res.Errors {
		file := rel(e.Dir)
		if e.Pos.IsValid() {
			file = rel(e.Pos.Filename)
		}
		add(file, checkstyleError{Line: e.Pos.Line, Column: e.Pos.Column, Severity: "error", Message: packageErrorText(rel, e), Source: "toil.load"})
	}
	for _, f := range res.Findings {
		add(rel(f.Pos.Filename), checkstyleError{Line: f.Pos.Line, Column: f.Pos.Column, Severity: "error", Message: message(f), Source: "toil." + f.Rule})
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// writeGitHub prints GitHub Actions workflow commands, which annotate the
// lines of a pull request.
func writeGitHub(w io.Writer, rel func(string) string, res *lint.Result) {
	for _, e := range res.Errors {
		props := ""
		if e.Pos.IsValid() {
			props = fmt.Sprintf(" file=%s,line=%d,col=%d,title=%s", ghProp(filepath.ToSlash(rel(e.Pos.Filename))), e.Pos.Line, e.Pos.Column, ghProp("toil lint"))
		}
		fmt.Fprintf(w, "::error%s::%s\n", props, ghData(packageErrorText(rel, e)))
	}
	for _, f := range res.Findings {
		fmt.Fprintf(w, "::error file=%s,line=%d,col=%d,endLine=%d,endColumn=%d,title=%s::%s\n",
			ghProp(filepath.ToSlash(rel(f.Pos.Filename))), f.Pos.Line, f.Pos.Column, max(f.End.Line, f.Pos.Line), f.End.Column,
			ghProp(f.Rule), ghData(message(f)))
	}
}

// ghData escapes a workflow command's message.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProp escapes a workflow command's property value.
func ghProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
