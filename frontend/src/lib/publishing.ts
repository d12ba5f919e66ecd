/**
 * Pure logic behind the publishing views: delivery states and attempt outcomes as
 * labels and tones, "12 s ago" / "3 min late" formatting, and which live events
 * should refresh what. The components only render what these return.
 */
import type { components } from './api/schema';

type Schemas = components['schemas'];

export type Delivery = Schemas['DeliveryView'];
export type DeliveryState = Schemas['DeliveryState'];
export type Attempt = Schemas['AttemptView'];
export type AttemptOutcome = Schemas['AttemptOutcome'];
export type PublishingHealth = Schemas['PublishingHealth'];
export type Worker = Schemas['WorkerView'];
export type Failure = Schemas['FailureView'];

/** Colour family of a badge (maps to the `--accent`, `--success`, … tokens). */
export type Tone = 'neutral' | 'accent' | 'warning' | 'success' | 'danger';

interface StateInfo {
	label: string;
	tone: Tone;
	/** One sentence saying what the state means for the person looking at it. */
	hint: string;
}

const DELIVERY_STATES: Record<DeliveryState, StateInfo> = {
	scheduled: { label: 'Scheduled', tone: 'accent', hint: 'Waiting for its time.' },
	claimed: { label: 'Sending', tone: 'warning', hint: 'A worker is sending it now.' },
	published: { label: 'Published', tone: 'success', hint: 'The network accepted it.' },
	retry_wait: {
		label: 'Retrying',
		tone: 'warning',
		hint: 'The network could not take it yet; PostWizard tries again by itself.'
	},
	unknown: {
		label: 'Unconfirmed',
		tone: 'warning',
		hint: 'The network did not confirm the last attempt; PostWizard checks whether it went out before sending again.'
	},
	failed: { label: 'Failed', tone: 'danger', hint: 'PostWizard stopped trying; it will not be sent unless someone retries it.' },
	cancelled: { label: 'Cancelled', tone: 'neutral', hint: 'It will not be sent.' },
	missed: {
		label: 'Missed',
		tone: 'danger',
		hint: 'It was not sent in time (no worker was running), and PostWizard does not send posts that late by itself.'
	}
};

function humanize(value: string): string {
	const words = value.replace(/[_.]+/g, ' ').trim();
	return words ? words.charAt(0).toUpperCase() + words.slice(1) : '—';
}

function isDeliveryState(state: string): state is DeliveryState {
	return Object.hasOwn(DELIVERY_STATES, state);
}

export function deliveryStateLabel(state: string): string {
	return isDeliveryState(state) ? DELIVERY_STATES[state].label : humanize(state);
}

export function deliveryStateTone(state: string): Tone {
	return isDeliveryState(state) ? DELIVERY_STATES[state].tone : 'neutral';
}

export function deliveryStateHint(state: string): string {
	return isDeliveryState(state) ? DELIVERY_STATES[state].hint : '';
}

/** Still on its way (a worker will pick it up or is sending it). */
export function isDeliveryPending(state: string): boolean {
	return state === 'scheduled' || state === 'claimed' || state === 'retry_wait' || state === 'unknown';
}

const OUTCOMES: Record<AttemptOutcome, { label: string; tone: Tone }> = {
	pending: { label: 'In progress', tone: 'warning' },
	published: { label: 'Published', tone: 'success' },
	transient_error: { label: 'Temporary error', tone: 'warning' },
	rate_limited: { label: 'Rate limited', tone: 'warning' },
	auth_error: { label: 'Access lost', tone: 'danger' },
	permanent_error: { label: 'Refused', tone: 'danger' },
	unknown: { label: 'No answer', tone: 'warning' },
	reconciled_found: { label: 'Found on the network', tone: 'success' },
	reconciled_absent: { label: 'Not on the network', tone: 'neutral' }
};

function isOutcome(outcome: string): outcome is AttemptOutcome {
	return Object.hasOwn(OUTCOMES, outcome);
}

export function attemptOutcomeLabel(outcome: string): string {
	return isOutcome(outcome) ? OUTCOMES[outcome].label : humanize(outcome);
}

export function attemptOutcomeTone(outcome: string): Tone {
	return isOutcome(outcome) ? OUTCOMES[outcome].tone : 'neutral';
}

export function attemptKindLabel(kind: string): string {
	if (kind === 'publish') return 'Publish';
	if (kind === 'reconcile') return 'Check';
	return humanize(kind);
}

/** A time as an ISO string, a Date or ms since the epoch. */
export type TimeLike = string | Date | number;

function toMs(at: TimeLike | null | undefined): number | null {
	if (at === null || at === undefined || at === '') return null;
	const ms = at instanceof Date ? at.getTime() : typeof at === 'number' ? at : Date.parse(at);
	return Number.isNaN(ms) ? null : ms;
}

/** A span of seconds as "45 s", "12 min", "2 h 5 min", "3 d 4 h" (the two largest units). */
export function formatSpan(seconds: number): string {
	const s = Math.max(0, Math.floor(seconds));
	if (s < 60) return `${s} s`;
	const minutes = Math.floor(s / 60);
	if (minutes < 60) return `${minutes} min`;
	const hours = Math.floor(minutes / 60);
	if (hours < 24) {
		const rest = minutes % 60;
		return rest ? `${hours} h ${rest} min` : `${hours} h`;
	}
	const days = Math.floor(hours / 24);
	const rest = hours % 24;
	return rest ? `${days} d ${rest} h` : `${days} d`;
}

/** "just now", "12 s ago", "3 min ago", "2 h ago", "4 d ago"; "—" without a time. */
export function formatAgo(at: TimeLike | null | undefined, now: Date | number = Date.now()): string {
	const then = toMs(at);
	if (then === null) return '—';
	const nowMs = now instanceof Date ? now.getTime() : now;
	const seconds = Math.floor((nowMs - then) / 1000);
	if (seconds < 1) return 'just now'; // also a clock a little ahead of ours
	if (seconds < 60) return `${seconds} s ago`;
	const minutes = Math.floor(seconds / 60);
	if (minutes < 60) return `${minutes} min ago`;
	const hours = Math.floor(minutes / 60);
	if (hours < 24) return `${hours} h ago`;
	return `${Math.floor(hours / 24)} d ago`;
}

/** "in 5 min" / "3 min ago" / "now" for a time that may be either side of `now`. */
export function formatRelative(at: TimeLike | null | undefined, now: Date | number = Date.now()): string {
	const then = toMs(at);
	if (then === null) return '—';
	const nowMs = now instanceof Date ? now.getTime() : now;
	const seconds = Math.round((then - nowMs) / 1000);
	if (Math.abs(seconds) < 5) return 'now';
	return seconds > 0 ? `in ${formatSpan(seconds)}` : formatAgo(at, nowMs);
}

/** How late the oldest waiting delivery is: "on time", "45 s late", "2 h 5 min late". */
export function formatLateness(seconds: number | null | undefined): string {
	if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 1) return 'on time';
	return `${formatSpan(seconds)} late`;
}

/** Tone for the lateness figure: fine under a minute, a warning under 15 min, then danger. */
export function latenessTone(seconds: number | null | undefined): Tone {
	if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 60) return 'success';
	return seconds < 15 * 60 ? 'warning' : 'danger';
}

/** How long an attempt took: "0.4 s", "12 s", "2 min"; "—" while it runs. */
export function formatAttemptDuration(started: string, finished: string | null | undefined): string {
	const a = toMs(started);
	const b = toMs(finished);
	if (a === null || b === null) return '—';
	const ms = Math.max(0, b - a);
	if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
	return formatSpan(ms / 1000);
}

/** `HTTP 429` or "—". */
export function formatHttpStatus(status: number | null | undefined): string {
	return status === null || status === undefined ? '—' : `HTTP ${status}`;
}

/** Workers alive first, then the most recently seen. */
export function sortWorkers(workers: readonly Worker[]): Worker[] {
	return [...workers].sort((a, b) => {
		if (a.alive !== b.alive) return a.alive ? -1 : 1;
		return (toMs(b.seen_at) ?? 0) - (toMs(a.seen_at) ?? 0);
	});
}

/** Attempts newest first. */
export function sortAttempts(attempts: readonly Attempt[]): Attempt[] {
	return [...attempts].sort((a, b) => b.number - a.number || (toMs(b.started_at) ?? 0) - (toMs(a.started_at) ?? 0));
}

/** Counts per tone for a post's deliveries: "2 published · 1 failed". */
export function deliverySummary(deliveries: readonly Pick<Delivery, 'state'>[]): string {
	const counts = new Map<string, number>();
	for (const d of deliveries) counts.set(d.state, (counts.get(d.state) ?? 0) + 1);
	return [...counts.entries()].map(([state, n]) => `${n} ${deliveryStateLabel(state).toLowerCase()}`).join(' · ');
}

/** Live events that change a post's deliveries. */
export const DELIVERY_EVENT_TYPES = [
	'delivery.updated',
	'delivery.retry',
	'post.scheduled',
	'post.unscheduled',
	'post.cancelled',
	'post.publishing',
	'post.published',
	'post.partially_published',
	'post.failed',
	'account.needs_reconnect'
] as const;

/** Live events after which the publishing health may have changed. */
export const HEALTH_EVENT_TYPES = [
	'delivery.updated',
	'delivery.retry',
	'post.scheduled',
	'post.unscheduled',
	'post.cancelled',
	'post.publishing',
	'post.published',
	'post.partially_published',
	'post.failed',
	'posts.imported'
] as const;

/**
 * Should this live event refresh the deliveries of `postId`? Yes when it names the post,
 * or (`account.needs_reconnect`, which names an account) one of its deliveries' accounts.
 */
export function affectsDeliveries(
	type: string,
	data: Record<string, unknown>,
	postId: string,
	accountIds: readonly string[] = []
): boolean {
	if (type === 'account.needs_reconnect') {
		const id = data.id ?? data.account_id;
		return typeof id === 'string' && accountIds.includes(id);
	}
	return data.post_id === postId;
}

/** Post statuses that never have deliveries (nothing to show yet). */
const BEFORE_SCHEDULING = new Set(['draft', 'pending_approval', 'approved']);

/** Show the Delivery section: the post was scheduled at some point, or it has deliveries. */
export function showsDeliveries(postStatus: string, deliveryCount: number): boolean {
	return deliveryCount > 0 || !BEFORE_SCHEDULING.has(postStatus);
}

/** A precise time for attempts: "14:03:27" today, "12 Nov, 14:03:27" on other days. */
export function formatAttemptTime(
	at: string | null | undefined,
	now: Date = new Date(),
	locale?: string,
	timeZone?: string
): string {
	const ms = toMs(at);
	if (ms === null) return '—';
	const d = new Date(ms);
	const day = (x: Date) => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(x);
	const time: Intl.DateTimeFormatOptions = { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit' };
	const options: Intl.DateTimeFormatOptions = day(d) === day(now) ? time : { ...time, month: 'short', day: 'numeric' };
	return new Intl.DateTimeFormat(locale, options).format(d);
}
