// Package notify POSTs a run's outcome to a webhook as JSON that Slack's
// incoming webhooks (and most chat tools) understand through its `text`
// field, and that any other receiver can read field by field.
//
// It must not import `internal/store`, `internal/source`, `activities` or
// `workflows`.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// Timeout bounds one POST.
const Timeout = 10 * time.Second

// Payload is the JSON body of a notification.
type Payload struct {
	// Text is a one-message rendering for Slack-compatible receivers.
	Text       string `json:"text"`
	Deployment string `json:"deployment,omitempty"`
	Workflow   string `json:"workflow"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	// Status is completed, failed or cancelled.
	Status  string `json:"status"`
	Stage   string `json:"stage,omitempty"`
	Summary string `json:"summary,omitempty"`
	Error   string `json:"error,omitempty"`
	UIURL   string `json:"ui_url"`
}

// NewPayload builds the notification of in, linking to uiURL.
func NewPayload(in runinfo.NotifyInput, uiURL string) Payload {
	e := in.End
	name := in.Deployment
	if name == "" {
		name = in.Workflow
	}
	icon := map[string]string{runinfo.RunCompleted: "✅", runinfo.RunFailed: "❌", runinfo.RunCancelled: "⚪"}[e.Status]
	text := fmt.Sprintf("%s %s run %s %s", icon, name, e.Run.WorkflowID, e.Status)
	switch {
	case e.Error != "" && e.Stage != "":
		text += fmt.Sprintf(" in %s: %s", e.Stage, e.Error)
	case e.Error != "":
		text += ": " + e.Error
	case e.Summary != "":
		text += ": " + e.Summary
	}
	text += fmt.Sprintf(" <%s|Open in Temporal>", uiURL)
	return Payload{
		Text: text, Deployment: in.Deployment, Workflow: in.Workflow, WorkflowID: e.Run.WorkflowID, RunID: e.Run.RunID,
		Status: e.Status, Stage: e.Stage, Summary: e.Summary, Error: e.Error, UIURL: uiURL,
	}
}

// StatusError is a webhook's answer other than 2xx.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("the webhook answered HTTP %d", e.Code)
	}
	return fmt.Sprintf("the webhook answered HTTP %d: %s", e.Code, e.Body)
}

// Retryable says whether trying again may help: 5xx, 408 and 429.
func (e *StatusError) Retryable() bool {
	return e.Code >= 500 || e.Code == http.StatusRequestTimeout || e.Code == http.StatusTooManyRequests
}

// Post sends p to rawURL. Its errors never contain the URL (a webhook URL
// is a secret): a transport error is reduced to what went wrong.
func Post(ctx context.Context, hc *http.Client, rawURL string, p Payload) error {
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode the notification: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("the webhook URL is not a valid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "blueprint-notify")
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("POST to the webhook failed: %w", ue.Err)
		}
		return fmt.Errorf("POST to the webhook failed")
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode/100 != 2 {
		return &StatusError{Code: resp.StatusCode, Body: string(bytes.TrimSpace(bytes.ToValidUTF8(msg, nil)))}
	}
	return nil
}

// CheckURL checks that a resolved webhook URL is an absolute http(s) URL,
// without saying what it is.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("is not an http:// or https:// URL")
	}
	return nil
}
