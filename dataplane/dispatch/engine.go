package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/nats-io/nats.go/jetstream"
)

// Endpoints is the dispatcher's view of its configuration (filled from the
// config stream by the wiring).
type Endpoints interface {
	// Subscribed returns the enabled endpoints of the application that
	// subscribe to eventType.
	Subscribed(tenant, appID, eventType string) []*Endpoint
	// Endpoint returns an enabled endpoint; false when it is unknown,
	// deleted or disabled (its pending deliveries are then cancelled).
	Endpoint(tenant, id string) (*Endpoint, bool)
}

// EngineConfig is the engine's plain configuration; the zero value of each
// field is its default.
type EngineConfig struct {
	// Workers is how many attempts run at once on this replica (256). An
	// attempt mostly waits on the network, so the bound is about open
	// connections, not CPU.
	Workers int
	// EndpointWorkers caps the attempts of one endpoint on this replica
	// (max(1, Workers×3/4)), so a slow endpoint leaves a quarter of the workers to the
	// others even without a max_in_flight of its own. An endpoint whose last
	// attempt here failed gets one at a time until one succeeds, so
	// endpoints that time out cannot take the workers the healthy ones
	// need.
	EndpointWorkers int
	// FanoutWorkers is how many outbound messages are fanned out at once (4).
	FanoutWorkers int
	// Delays is the retry schedule (nil: DefaultDelays); TimeScale
	// compresses it (0: 1; --retry-time-scale).
	Delays    []time.Duration
	TimeScale float64
	// AckWait is how long a task or message may stay unacknowledged before
	// JetStream hands it to another worker (60 s). Work in progress is
	// reported every AckWait/3, so AckWait may be shorter than an attempt:
	// it is how soon the work of a replica that died is taken up again.
	AckWait time.Duration
	// MaxAckPending bounds the tasks handed out and not yet acknowledged,
	// including those waiting a short NakWithDelay (10,000).
	MaxAckPending int
	// BusyDelay is how long a task whose endpoint is at its in-flight cap
	// waits before it is tried again (200 ms, unscaled).
	BusyDelay time.Duration
	// FanoutConsumer and DeliverConsumer name the durable consumers that
	// every replica shares ("dispatch-fanout", "dispatch-deliver").
	FanoutConsumer  string
	DeliverConsumer string
	// LimitsBucket is the KV bucket of the shared limits
	// (DefaultLimitsBucket).
	LimitsBucket string
	// Replicas is the limits bucket's replica count (1): the stream
	// replica count of a cluster, so losing one NATS node loses no slot.
	Replicas int
}

// EngineDeps are the engine's collaborators.
type EngineDeps struct {
	JetStream jetstream.JetStream
	Endpoints Endpoints
	Deliverer *Deliverer
	Log       *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// OnDisable is told when an answer disables an endpoint (410: reason
	// gone); the wiring reports it to the control plane. Optional.
	OnDisable func(ctx context.Context, tenant, endpointID string, reason DisableReason)
	// Schedules returns a tenant's own retry schedule (already scaled by
	// the wiring); false, or a nil Schedules, means the engine's schedule
	// (EngineConfig.Delays). Asked once per attempt, so a changed override
	// applies from the next attempt of every pending delivery. Optional;
	// it must not block.
	Schedules func(tenant string) (Schedule, bool)
	// Health is told the outcome of every attempt the engine concludes,
	// after its record is written (endpoint health). Optional; it must
	// not block for long.
	Health HealthObserver
	// Tracer makes the fan-out and attempt spans and carries trace context
	// to tasks and receivers; nil is tracing off.
	Tracer *Tracer
}

// HealthObserver keeps endpoint health from attempts.
type HealthObserver interface {
	Observe(ctx context.Context, tenant string, a *Attempt)
}

// Defaults of EngineConfig.
const (
	DefaultWorkers         = 256
	DefaultAckWait         = 60 * time.Second
	DefaultFanoutWorkers   = 4
	DefaultMaxAckPending   = 10000
	DefaultBusyDelay       = 200 * time.Millisecond
	DefaultFanoutConsumer  = "dispatch-fanout"
	DefaultDeliverConsumer = "dispatch-deliver"
	// scheduleThreshold: waits of at least this long become scheduled
	// messages, shorter ones a NakWithDelay (docs/design.md "Waiting
	// retries").
	scheduleThreshold = time.Second
	// recordTimeout bounds the JetStream writes that close an attempt, which
	// run even while the engine stops so a made attempt is recorded.
	recordTimeout = 10 * time.Second
)

// Engine fans outbound messages out to endpoints and delivers them with
// retries, recording every attempt and each delivery's state. Any number
// of replicas may run against the same streams.
type Engine struct {
	cfg       EngineConfig
	js        jetstream.JetStream
	endpoints Endpoints
	deliverer *Deliverer
	log       *slog.Logger
	now       func() time.Time
	onDisable func(ctx context.Context, tenant, endpointID string, reason DisableReason)
	schedule  Schedule
	schedules func(tenant string) (Schedule, bool)
	health    HealthObserver
	tracer    *Tracer

	// slots holds one token per running attempt (Workers), shared by
	// first attempts made while fanning out and by delivery tasks.
	slots chan struct{}
	// wg tracks every goroutine Run starts; attempts join it.
	wg sync.WaitGroup

	mu   sync.Mutex // guards busy, failing, kv, attempts, limits, working
	busy map[string]int
	// failing holds, per endpoint whose last attempt here failed, when its
	// failures began.
	failing  map[string]time.Time
	kv       jetstream.KeyValue
	attempts jetstream.Stream
	limits   *Limits
	// idle hands work to a worker goroutine waiting for more (work);
	// stopping is closed when Run's context ends.
	idle     chan func()
	stopping <-chan struct{}
	// index writes the workers' index copies while Run runs.
	index *indexer
	// working holds the messages being worked on, told InProgress every
	// AckWait/3 so JetStream does not hand them out again meanwhile.
	working map[jetstream.Msg]struct{}
}

// NewEngine checks cfg and deps and returns an engine; Run starts it.
func NewEngine(cfg EngineConfig, deps EngineDeps) (*Engine, error) {
	if deps.JetStream == nil || deps.Endpoints == nil || deps.Deliverer == nil || deps.Log == nil {
		return nil, errors.New("dispatch engine: JetStream, Endpoints, Deliverer and Log are required")
	}
	if cfg.Workers < 0 || cfg.EndpointWorkers < 0 || cfg.FanoutWorkers < 0 || cfg.MaxAckPending < 0 || cfg.AckWait < 0 || cfg.BusyDelay < 0 {
		return nil, fmt.Errorf("dispatch engine: negative setting in %+v", cfg)
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.EndpointWorkers == 0 {
		cfg.EndpointWorkers = max(1, cfg.Workers*3/4)
	}
	cfg.EndpointWorkers = min(cfg.EndpointWorkers, cfg.Workers)
	if cfg.FanoutWorkers == 0 {
		cfg.FanoutWorkers = DefaultFanoutWorkers
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.MaxAckPending == 0 {
		cfg.MaxAckPending = DefaultMaxAckPending
	}
	if cfg.BusyDelay == 0 {
		cfg.BusyDelay = DefaultBusyDelay
	}
	if cfg.FanoutConsumer == "" {
		cfg.FanoutConsumer = DefaultFanoutConsumer
	}
	if cfg.DeliverConsumer == "" {
		cfg.DeliverConsumer = DefaultDeliverConsumer
	}
	if cfg.LimitsBucket == "" {
		cfg.LimitsBucket = DefaultLimitsBucket
	}
	sched, err := NewSchedule(cfg.Delays, cfg.TimeScale)
	if err != nil {
		return nil, fmt.Errorf("dispatch engine: %w", err)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Engine{
		cfg: cfg, js: deps.JetStream, endpoints: deps.Endpoints, deliverer: deps.Deliverer,
		log: deps.Log, now: deps.Now, onDisable: deps.OnDisable, schedule: sched,
		schedules: deps.Schedules, health: deps.Health, tracer: deps.Tracer,
		slots: make(chan struct{}, cfg.Workers), idle: make(chan func()),
		busy: map[string]int{}, failing: map[string]time.Time{}, working: map[jetstream.Msg]struct{}{},
	}, nil
}

// Run consumes outbound messages and delivery tasks until ctx ends, and
// returns after every worker stopped. The streams and the deliveries
// bucket must exist (streams.EnsureDispatch). An attempt cut short by the
// stop is not acknowledged: JetStream hands its task out again after
// AckWait (at least once).
func (e *Engine) Run(ctx context.Context) error {
	if _, err := e.limitsBucket(ctx); err != nil {
		return err
	}
	if _, err := e.deliveries(ctx); err != nil {
		return err
	}
	fanout, err := e.consumer(ctx, streams.Outbound, e.cfg.FanoutConsumer, streams.OutboundSubject)
	if err != nil {
		return err
	}
	deliver, err := e.consumer(ctx, streams.Deliver, e.cfg.DeliverConsumer, streams.DeliverSubjects)
	if err != nil {
		return err
	}
	// Fan-out handlers return as soon as the attempts are started, so a
	// deeper buffer costs nothing and spares pull round trips. Pull
	// requests last pullExpiry: an iterator whose request the server lost
	// (make soak saw one under a recovering endpoint's flood) notices the
	// missing heartbeats after twice half of it and pulls again, so a
	// shorter expiry bounds that stall (30 s with the default expiry).
	fanIt, err := fanout.Messages(jetstream.PullMaxMessages(128), jetstream.PullExpiry(pullExpiry))
	if err != nil {
		return fmt.Errorf("consume %s: %w", streams.Outbound, err)
	}
	delIt, err := deliver.Messages(jetstream.PullMaxMessages(min(e.cfg.Workers, 256)), jetstream.PullExpiry(pullExpiry))
	if err != nil {
		fanIt.Stop()
		return fmt.Errorf("consume %s: %w", streams.Deliver, err)
	}
	e.log.Info("dispatch engine running", "workers", e.cfg.Workers, "attempts", e.schedule.Attempts())

	e.stopping = ctx.Done()
	// Set before any worker starts, closed after the last one stopped.
	e.index = newIndexer(e.js)
	indexed := make(chan struct{})
	go func() {
		defer close(indexed)
		e.index.run()
	}()

	e.pool(ctx, fanIt, e.cfg.FanoutWorkers, e.fanout)
	e.wg.Go(func() { e.readTasks(ctx, delIt) })
	e.wg.Go(func() { e.heartbeat(ctx) })
	<-ctx.Done()
	fanIt.Stop()
	delIt.Stop()
	e.wg.Wait()
	close(e.index.ch)
	<-indexed
	e.log.Info("dispatch engine stopped")
	return nil
}

// pool runs n workers fed by one reader of it.
func (e *Engine) pool(ctx context.Context, it jetstream.MessagesContext, n int, handle func(context.Context, jetstream.Msg)) {
	work := make(chan jetstream.Msg)
	e.wg.Go(func() {
		defer close(work)
		for {
			m, ok := e.next(ctx, it)
			if !ok {
				return
			}
			select {
			case work <- m:
			case <-ctx.Done():
				// Not handed to a worker: leave it for AckWait, as a stop
				// mid-attempt does.
				return
			}
		}
	})
	for range n {
		e.wg.Go(func() {
			for m := range work {
				handle(ctx, m)
			}
		})
	}
}

// readTasks runs every delivery task in a goroutine of its own once it has
// a worker slot, so a task never waits behind another endpoint's.
func (e *Engine) readTasks(ctx context.Context, it jetstream.MessagesContext) {
	for {
		m, ok := e.next(ctx, it)
		if !ok {
			return
		}
		if !e.acquire(ctx) {
			return
		}
		e.work(func() { e.deliver(ctx, m) })
	}
}

// next is the iterator's next message; false once it is closed.
func (e *Engine) next(ctx context.Context, it jetstream.MessagesContext) (jetstream.Msg, bool) {
	for {
		m, err := it.Next()
		if err == nil {
			return m, true
		}
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
			return nil, false
		}
		e.log.Warn("dispatch consume", "err", err)
	}
}

// acquire takes a worker slot; false when ctx ended first.
func (e *Engine) acquire(ctx context.Context) bool {
	select {
	case e.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (e *Engine) release() { <-e.slots }

// idleWorker is how long a worker goroutine waits for more work.
const idleWorker = 10 * time.Second

// work runs f, which holds a worker slot (acquire), in a worker goroutine
// and releases the slot after it. A worker that finished waits idleWorker
// for the next f before it ends: an attempt's stack (net/http's client)
// grows a new goroutine's several times, and reusing one spares that copy
// (3 % of the engine's CPU per delivery in make bench-outbound's profile).
func (e *Engine) work(f func()) {
	select {
	case e.idle <- f:
		return
	default:
	}
	e.wg.Go(func() {
		idle := time.NewTimer(idleWorker)
		defer idle.Stop()
		for {
			f()
			e.release()
			idle.Reset(idleWorker)
			select {
			case f = <-e.idle:
			case <-idle.C:
				return
			case <-e.stopping:
				return
			}
		}
	})
}

// watch keeps m in progress until unwatch.
func (e *Engine) watch(m jetstream.Msg) {
	e.mu.Lock()
	e.working[m] = struct{}{}
	e.mu.Unlock()
}

func (e *Engine) unwatch(m jetstream.Msg) {
	e.mu.Lock()
	delete(e.working, m)
	e.mu.Unlock()
}

// heartbeat tells JetStream every AckWait/3 that the watched messages are
// still being worked on.
func (e *Engine) heartbeat(ctx context.Context) {
	t := time.NewTicker(e.cfg.AckWait / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e.mu.Lock()
		ms := make([]jetstream.Msg, 0, len(e.working))
		for m := range e.working {
			ms = append(ms, m)
		}
		e.mu.Unlock()
		for _, m := range ms {
			if err := m.InProgress(); err != nil {
				e.log.Debug("in progress", "err", err)
			}
		}
	}
}

func (e *Engine) consumer(ctx context.Context, stream, name, filter string) (jetstream.Consumer, error) {
	c, err := e.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:       name,
		FilterSubject: filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       e.cfg.AckWait,
		MaxAckPending: e.cfg.MaxAckPending,
		MaxDeliver:    -1,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure consumer %s on %s: %w", name, stream, err)
	}
	return c, nil
}

// deliveries opens the deliveries bucket once.
func (e *Engine) deliveries(ctx context.Context) (jetstream.KeyValue, error) {
	return openOnce(&e.mu, &e.kv, func() (jetstream.KeyValue, error) {
		kv, err := e.js.KeyValue(ctx, streams.Deliveries)
		if err != nil {
			return nil, fmt.Errorf("open bucket %s: %w", streams.Deliveries, err)
		}
		return kv, nil
	})
}

// attemptsStream opens the attempts stream once.
func (e *Engine) attemptsStream(ctx context.Context) (jetstream.Stream, error) {
	return openOnce(&e.mu, &e.attempts, func() (jetstream.Stream, error) {
		s, err := e.js.Stream(ctx, streams.Attempts)
		if err != nil {
			return nil, fmt.Errorf("open stream %s: %w", streams.Attempts, err)
		}
		return s, nil
	})
}

// limitsBucket opens the shared limits once.
func (e *Engine) limitsBucket(ctx context.Context) (*Limits, error) {
	return openOnce(&e.mu, &e.limits, func() (*Limits, error) {
		return NewLimits(ctx, e.js, e.cfg.LimitsBucket, max(e.cfg.Replicas, 1), e.now)
	})
}

// openOnce returns *slot, opening it first when it is still nil; a failed
// open is tried again next time. mu guards slot.
func openOnce[T comparable](mu *sync.Mutex, slot *T, open func() (T, error)) (T, error) {
	mu.Lock()
	defer mu.Unlock()
	var zero T
	if *slot != zero {
		return *slot, nil
	}
	v, err := open()
	if err != nil {
		return zero, err
	}
	*slot = v
	return v, nil
}

// scheduleFor is the retry schedule of tenant: its override, else the
// engine's.
func (e *Engine) scheduleFor(tenant string) Schedule {
	if e.schedules != nil {
		if s, ok := e.schedules(tenant); ok && s.Attempts() > 0 {
			return s
		}
	}
	return e.schedule
}

// enter takes one of the endpoint's local worker places; false when it
// has EndpointWorkers attempts running here already, or one while it is
// failing.
func (e *Engine) enter(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	limit := e.cfg.EndpointWorkers
	if _, failing := e.failing[key]; failing {
		limit = 1
	}
	if e.busy[key] >= limit {
		return false
	}
	e.busy[key]++
	return true
}

func (e *Engine) leave(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.busy[key]--; e.busy[key] <= 0 {
		delete(e.busy, key)
	}
}

// pullExpiry is how long a pull request of the engine's consumers lasts.
const pullExpiry = 5 * time.Second

// maxFailingHold bounds how long a task of a failing endpoint that found
// its one place taken waits before it is handed out again (times the
// retry time scale).
const maxFailingHold = 10 * time.Second

// busyWait is how long a task whose endpoint had no free local place waits
// before it is handed out again: BusyDelay, or, while the endpoint is
// failing, as long as it has been failing, up to maxFailingHold. A failing
// endpoint takes one attempt at a time, so the rest of its backlog would
// otherwise come round every BusyDelay: a hot endpoint that times out
// with thousands of tasks made them cycle through JetStream fast enough to
// take the cores from the healthy endpoints (make soak; bench-outbound's
// (h1) row). From a second on, the wait is a scheduled message, which
// frees the task's ack-pending slot too.
func (e *Engine) busyWait(key string) time.Duration {
	e.mu.Lock()
	since, failing := e.failing[key]
	e.mu.Unlock()
	if !failing {
		return e.cfg.BusyDelay
	}
	return max(e.cfg.BusyDelay, min(e.now().Sub(since), e.schedule.scaled(maxFailingHold)))
}

// noteOutcome remembers whether the endpoint's last attempt here failed.
func (e *Engine) noteOutcome(key string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ok {
		delete(e.failing, key)
	} else if _, was := e.failing[key]; !was {
		e.failing[key] = e.now()
	}
}
