/**
 * Weekly posting slots (`{weekday: 0 = Monday … 6, time: "HH:MM"}` in the account's zone):
 * editing helpers for the weekly editor and the concrete instants for the queue view.
 */
import type { components } from './api/schema';
import {
	addDays,
	parseInstant,
	parsePlainDate,
	plainDateAt,
	wallTimeAt,
	wallToInstant,
	weekdayOf,
	type PlainDate
} from './calendar-time';

export type Slot = components['schemas']['Slot'];
type Post = components['schemas']['Post'];

const TIME = /^([01]?\d|2[0-3]):([0-5]\d)$/;

/** `"9:05"` → `"09:05"`; null when it is not a 24 h time. */
export function normalizeTime(value: string): string | null {
	const m = TIME.exec(value.trim());
	if (!m) return null;
	return `${m[1]!.padStart(2, '0')}:${m[2]}`;
}

function compareSlots(a: Slot, b: Slot): number {
	return a.weekday - b.weekday || a.time.localeCompare(b.time);
}

/** Sorted, without duplicates, times normalised (invalid ones dropped). */
export function normalizeSlots(slots: readonly Slot[]): Slot[] {
	const seen = new Set<string>();
	const out: Slot[] = [];
	for (const slot of slots) {
		const time = normalizeTime(slot.time);
		if (time === null || slot.weekday < 0 || slot.weekday > 6 || !Number.isInteger(slot.weekday)) continue;
		const key = `${slot.weekday} ${time}`;
		if (seen.has(key)) continue;
		seen.add(key);
		out.push({ weekday: slot.weekday, time });
	}
	return out.sort(compareSlots);
}

export function addSlot(slots: readonly Slot[], weekday: number, time: string): Slot[] {
	return normalizeSlots([...slots, { weekday, time }]);
}

export function removeSlot(slots: readonly Slot[], weekday: number, time: string): Slot[] {
	const t = normalizeTime(time);
	return normalizeSlots(slots.filter((s) => !(s.weekday === weekday && normalizeTime(s.time) === t)));
}

/** Times of one weekday, sorted. */
export function timesOf(slots: readonly Slot[], weekday: number): string[] {
	return normalizeSlots(slots)
		.filter((s) => s.weekday === weekday)
		.map((s) => s.time);
}

/** Tuesday–Friday get exactly Monday's times (the weekend is left alone). */
export function copyMondayToWeekdays(slots: readonly Slot[]): Slot[] {
	const monday = timesOf(slots, 0);
	const kept = slots.filter((s) => s.weekday === 0 || s.weekday > 4);
	const copies = [1, 2, 3, 4].flatMap((weekday) => monday.map((time) => ({ weekday, time })));
	return normalizeSlots([...kept, ...copies]);
}

export function sameSlots(a: readonly Slot[], b: readonly Slot[]): boolean {
	const x = normalizeSlots(a);
	const y = normalizeSlots(b);
	return x.length === y.length && x.every((s, i) => s.weekday === y[i]!.weekday && s.time === y[i]!.time);
}

// ---- the queue ---------------------------------------------------------------------------

export interface SlotInstant {
	/** The local day in the account's zone. */
	date: PlainDate;
	/** The slot's wall time, as configured. */
	time: string;
	/** When it actually happens (after the DST rule), epoch ms. */
	instant: number;
}

/**
 * The concrete instants of weekly `slots` in `zone` from `now` on, over `days` local days
 * (today included); slots already past are left out. Two slots that land on one instant
 * (a wall time in a spring-forward gap) count once.
 */
export function slotInstants(slots: readonly Slot[], zone: string, now: number, days = 14): SlotInstant[] {
	const clean = normalizeSlots(slots);
	const today = plainDateAt(now, zone);
	const out: SlotInstant[] = [];
	const seen = new Set<number>();
	for (let i = 0; i < days; i++) {
		const date = addDays(today, i);
		const weekday = weekdayOf(date);
		const { year, month, day } = parsePlainDate(date);
		for (const slot of clean) {
			if (slot.weekday !== weekday) continue;
			const [hour, minute] = slot.time.split(':').map(Number) as [number, number];
			const instant = wallToInstant({ year, month, day, hour, minute, second: 0 }, zone);
			if (instant < now || seen.has(instant)) continue;
			seen.add(instant);
			out.push({ date, time: slot.time, instant });
		}
	}
	return out.sort((a, b) => a.instant - b.instant);
}

export interface QueueEntry extends SlotInstant {
	/** Posts whose `scheduled_at` is exactly this slot's instant (none: the slot is free). */
	posts: Post[];
}

/** Posts in these states hold their time; a cancelled post (or a draft) frees its slot. */
const TAKING: ReadonlySet<string> = new Set(['scheduled', 'publishing', 'published', 'partially_published', 'failed']);

/** Each slot with the posts that take it (scheduled at exactly its instant). */
export function fillSlots(instants: readonly SlotInstant[], posts: readonly Post[]): QueueEntry[] {
	const byInstant = new Map<number, Post[]>();
	for (const post of posts) {
		if (!TAKING.has(post.status)) continue;
		const t = parseInstant(post.scheduled_at);
		if (Number.isNaN(t)) continue;
		let list = byInstant.get(t);
		if (!list) byInstant.set(t, (list = []));
		list.push(post);
	}
	return instants.map((slot) => ({ ...slot, posts: byInstant.get(slot.instant) ?? [] }));
}

/** The wall time `HH:MM` at which a slot instant shows in `zone` (differs from `time` in a DST gap). */
export function wallHm(instant: number, zone: string): string {
	const w = wallTimeAt(instant, zone);
	return `${String(w.hour).padStart(2, '0')}:${String(w.minute).padStart(2, '0')}`;
}

export type Account = components['schemas']['Account'];
export type AccountStatus = components['schemas']['AccountStatus'];
