// Package logs routes the logs of embedded libraries into the process's
// structured log: etcd's zap logger and the NATS server's logger become
// slog records with fixed keys, so their errors (a full disk, a port in
// use) reach the operator instead of vanishing in a no-op logger.
package logs

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Zap returns a zap logger that writes to log, from level min up, except
// the messages in drop (known noise, such as the embedded etcd's warnings
// about a set-up that is deliberate). etcd is chatty at info, so callers
// usually pass zapcore.WarnLevel.
func Zap(log *slog.Logger, component string, min zapcore.Level, drop ...string) *zap.Logger {
	return zap.New(&zapCore{log: log.With("component", component), min: min, drop: drop})
}

// zapCore is a zapcore.Core over a slog.Logger.
type zapCore struct {
	log    *slog.Logger
	min    zapcore.Level
	drop   []string
	fields []zapcore.Field
}

func (c *zapCore) Enabled(l zapcore.Level) bool { return l >= c.min }

func (c *zapCore) With(fields []zapcore.Field) zapcore.Core {
	return &zapCore{log: c.log, min: c.min, drop: c.drop, fields: append(c.fields[:len(c.fields):len(c.fields)], fields...)}
}

func (c *zapCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) && !slices.Contains(c.drop, e.Message) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *zapCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.fields {
		f.AddTo(enc)
	}
	for _, f := range fields {
		f.AddTo(enc)
	}
	attrs := make([]slog.Attr, 0, len(enc.Fields)+1)
	if e.LoggerName != "" {
		attrs = append(attrs, slog.String("logger", e.LoggerName))
	}
	for k, v := range enc.Fields {
		if k == "error" {
			k = "err" // the project's fixed key
		}
		attrs = append(attrs, slog.Any(k, v))
	}
	c.log.LogAttrs(context.Background(), slogLevel(e.Level), e.Message, attrs...)
	return nil
}

func (c *zapCore) Sync() error { return nil }

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l >= zapcore.ErrorLevel:
		return slog.LevelError
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}

// NATS is a nats-server logger (server.Logger) over a slog.Logger. It also
// remembers the first error, so a server that did not start can say why.
type NATS struct {
	log   *slog.Logger
	mu    sync.Mutex
	first string
}

// NewNATS returns a NATS server logger writing to log.
func NewNATS(log *slog.Logger) *NATS { return &NATS{log: log.With("component", "nats")} }

// FirstError is the first error or fatal message logged, or "".
func (n *NATS) FirstError() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.first
}

func (n *NATS) remember(msg string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.first == "" {
		n.first = msg
	}
}

// Noticef logs at debug: the server's notices are its start-up banner.
func (n *NATS) Noticef(format string, v ...any) {
	n.log.Debug("nats server notice", "detail", fmt.Sprintf(format, v...))
}

// Warnf logs a warning.
func (n *NATS) Warnf(format string, v ...any) {
	n.log.Warn("nats server warning", "detail", fmt.Sprintf(format, v...))
}

// Errorf logs an error.
func (n *NATS) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	n.remember(msg)
	n.log.Error("nats server error", "detail", msg)
}

// Fatalf logs an error; with NoSigs the server does not exit on it.
func (n *NATS) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	n.remember(msg)
	n.log.Error("nats server fatal", "detail", msg)
}

// Debugf logs at debug.
func (n *NATS) Debugf(format string, v ...any) {
	n.log.Debug("nats server debug", "detail", fmt.Sprintf(format, v...))
}

// Tracef drops protocol traces, which can carry message content.
func (n *NATS) Tracef(string, ...any) {}
