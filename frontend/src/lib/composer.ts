/**
 * Pure logic behind the composer, the post detail and the approvals inbox: request bodies
 * from composer state, errors mapped to what they concern, what a role may do to a post.
 */
import type { components } from './api/schema';
import type { ApiError } from './api/errors';
import { roleAtLeast } from './roles';

type Schemas = components['schemas'];

export type Account = Schemas['Account'];
export type Post = Schemas['Post'];
export type PostStatus = Schemas['PostStatus'];
export type PostCreate = Schemas['PostCreate'];
export type TargetIn = Schemas['TargetIn'];
export type PostCheck = Schemas['PostCheck'];
export type TargetCheck = Schemas['TargetCheck'];
export type Media = Schemas['Media'];
export type Scheduled = Schemas['Scheduled'];
export type ScheduleRequest = Schemas['ScheduleRequest'];
export type Activity = Schemas['Activity'];
export type PostComment = Schemas['Comment'];

/** One selected account in the composer. */
export interface ComposerTarget {
	accountId: string;
	/** "Customise for this network": send `text` instead of the base text. */
	customise: boolean;
	text: string;
	/** A per-target media override loaded from a saved post (kept as it is); null = the post's media. */
	mediaIds: string[] | null;
	/** Network options loaded from a saved post (kept as they are). */
	options: Record<string, unknown>;
}

export interface ComposerDraft {
	text: string;
	link: string;
	mediaIds: string[];
	labels: string[];
	campaign: string;
	targets: ComposerTarget[];
}

export function emptyDraft(): ComposerDraft {
	return { text: '', link: '', mediaIds: [], labels: [], campaign: '', targets: [] };
}

export function newTarget(accountId: string): ComposerTarget {
	return { accountId, customise: false, text: '', mediaIds: null, options: {} };
}

function targetBody(target: ComposerTarget): TargetIn {
	const body: TargetIn = { account_id: target.accountId };
	if (target.customise) body.text = target.text;
	if (target.mediaIds !== null) body.media_ids = [...target.mediaIds];
	if (Object.keys(target.options).length > 0) body.options = { ...target.options };
	return body;
}

/** The body for `POST /posts` and `PUT /posts/{id}` (the whole post, as the API wants). */
export function buildPostBody(draft: ComposerDraft): PostCreate {
	const link = draft.link.trim();
	const campaign = draft.campaign.trim();
	return {
		text: draft.text,
		link: link ? normalizeLink(link) : null,
		media_ids: [...draft.mediaIds],
		labels: [...draft.labels],
		campaign: campaign || null,
		targets: draft.targets.map(targetBody)
	};
}

/**
 * The body for `POST /posts/check`: only what counts toward the limits (text and media per
 * target), so a half-typed link or campaign never makes the counters fail.
 */
export function buildCheckBody(draft: ComposerDraft): PostCreate {
	return {
		text: draft.text,
		media_ids: [...draft.mediaIds],
		targets: draft.targets.map(targetBody)
	};
}

/** "example.com/x" → "https://example.com/x"; anything with a scheme stays as typed. */
export function normalizeLink(link: string): string {
	const raw = link.trim();
	if (!raw) return raw;
	return /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
}

/** Composer state for editing a saved post. */
export function draftFromPost(post: Post): ComposerDraft {
	return {
		text: post.text,
		link: post.link ?? '',
		mediaIds: [...post.media_ids],
		labels: [...post.labels],
		campaign: post.campaign ?? '',
		targets: post.targets.map((t) => ({
			accountId: t.account_id,
			customise: t.text !== null,
			text: t.text ?? '',
			mediaIds: t.media_ids ? [...t.media_ids] : null,
			options: { ...t.options }
		}))
	};
}

/** The text a target would publish. */
export function effectiveText(draft: Pick<ComposerDraft, 'text'>, target: Pick<ComposerTarget, 'customise' | 'text'>): string {
	return target.customise ? target.text : draft.text;
}

/** Add labels typed into the chip input ("a, b" adds two), trimmed, without case-insensitive repeats. */
export function addLabels(labels: readonly string[], typed: string, max = 20): string[] {
	const out = [...labels];
	const seen = new Set(out.map((l) => l.toLocaleLowerCase()));
	for (const part of typed.split(',')) {
		const label = part.trim().replace(/\s+/g, ' ').slice(0, 50);
		if (!label || seen.has(label.toLocaleLowerCase()) || out.length >= max) continue;
		seen.add(label.toLocaleLowerCase());
		out.push(label);
	}
	return out;
}

export interface CounterView {
	text: string;
	over: boolean;
	/** 0…1+ of the limit used, for a meter. */
	ratio: number;
}

export function counterView(check: Pick<TargetCheck, 'text_length'>): CounterView {
	const { count, limit } = check.text_length;
	return { text: `${count} / ${limit}`, over: count > limit, ratio: limit > 0 ? count / limit : 0 };
}

/**
 * Messages per account from a `limit_exceeded` answer: its fields are `targets.<index>`
 * (index into the post's targets, in order) with "rule: message".
 */
export function targetErrors(error: Pick<ApiError, 'fields'>, accountIds: readonly string[]): Record<string, string[]> {
	const out: Record<string, string[]> = {};
	for (const field of error.fields) {
		const m = /^(?:body\.)?targets[./](\d+)(?:[./].*)?$/.exec(field.field);
		if (!m) continue;
		const accountId = accountIds[Number(m[1])];
		if (!accountId) continue;
		const message = field.message.replace(/^[a-z_]+:\s*/, '');
		(out[accountId] ??= []).push(message);
	}
	return out;
}

/** Where in the composer an API error belongs. */
export type ErrorPlace = 'targets' | 'schedule' | 'link' | 'campaign' | 'labels' | 'text' | 'media' | 'general';

export function errorPlace(error: Pick<ApiError, 'code' | 'fields'>): ErrorPlace {
	switch (error.code) {
		case 'limit_exceeded':
		case 'no_targets':
		case 'unknown_account':
			return 'targets';
		case 'approval_required':
		case 'no_free_slot':
		case 'time_in_past':
		case 'invalid_timezone':
			return 'schedule';
		case 'unknown_media':
			return 'media';
	}
	const first = error.fields[0]?.field ?? '';
	const key = first.replace(/^body[./]/, '').split(/[./]/)[0] ?? '';
	if (key === 'link' || key === 'campaign' || key === 'labels' || key === 'text') return key;
	if (key === 'media_ids') return 'media';
	if (key === 'targets') return 'targets';
	if (key === 'at' || key === 'timezone') return 'schedule';
	return 'general';
}

export const STATUS_LABELS: Record<PostStatus, string> = {
	draft: 'Draft',
	pending_approval: 'Waiting for approval',
	approved: 'Approved',
	scheduled: 'Scheduled',
	publishing: 'Publishing',
	published: 'Published',
	partially_published: 'Partly published',
	failed: 'Failed',
	cancelled: 'Cancelled'
};

export function statusLabel(status: string): string {
	return (STATUS_LABELS as Record<string, string>)[status] ?? status;
}

export interface PostPermissions {
	edit: boolean;
	submit: boolean;
	approve: boolean;
	reject: boolean;
	schedule: boolean;
	unschedule: boolean;
	cancel: boolean;
	delete: boolean;
	comment: boolean;
}

const EDITABLE: readonly PostStatus[] = ['draft', 'pending_approval', 'approved', 'scheduled'];

/** What `role` may do to a post in `status` (mirrors the server's rules; the server decides). */
export function postPermissions(
	post: Pick<Post, 'status' | 'author_id'>,
	role: string | null | undefined,
	userId: string | null | undefined
): PostPermissions {
	const { status } = post;
	const editor = roleAtLeast(role, 'editor');
	const admin = roleAtLeast(role, 'admin');
	const authorOrAdmin = admin || (editor && userId != null && post.author_id === userId);
	return {
		edit: editor && EDITABLE.includes(status) && (status !== 'scheduled' || admin),
		submit: authorOrAdmin && status === 'draft',
		approve: admin && status === 'pending_approval',
		reject: admin && status === 'pending_approval',
		schedule: admin ? ['draft', 'approved', 'scheduled'].includes(status) : editor && status === 'approved',
		unschedule: admin && status === 'scheduled',
		cancel: authorOrAdmin && EDITABLE.includes(status),
		delete: authorOrAdmin && (status === 'draft' || status === 'cancelled'),
		comment: editor
	};
}

/** Readable text for an activity log entry type such as `post.scheduled`. */
export function activityLabel(type: string): string {
	const labels: Record<string, string> = {
		'post.created': 'created the post',
		'post.updated': 'edited the post',
		'post.submitted': 'submitted it for approval',
		'post.approved': 'approved it',
		'post.rejected': 'sent it back',
		'post.scheduled': 'scheduled it',
		'post.unscheduled': 'unscheduled it',
		'post.cancelled': 'cancelled it',
		'post.commented': 'commented',
		'post.published': 'published it',
		'post.partially_published': 'published it to some accounts',
		'post.failed': 'could not publish it',
		'post.publishing': 'started publishing'
	};
	return labels[type] ?? type.replace(/^post\./, '').replace(/_/g, ' ');
}

/** Live event types that change a post (reload it when one names the post on screen). */
export const POST_EVENT_TYPES = [
	'post.created',
	'post.updated',
	'post.submitted',
	'post.approved',
	'post.rejected',
	'post.scheduled',
	'post.unscheduled',
	'post.cancelled',
	'post.commented',
	'post.deleted',
	'post.publishing',
	'post.published',
	'post.partially_published',
	'post.failed'
] as const;

/** The `post_id` in a live event's data, if any. */
export function eventPostId(data: unknown): string | null {
	if (typeof data !== 'object' || data === null) return null;
	const id = (data as Record<string, unknown>).post_id;
	return typeof id === 'string' ? id : null;
}

/** Short preview of a post's text for lists. */
export function excerpt(text: string, max = 160): string {
	const flat = text.replace(/\s+/g, ' ').trim();
	return flat.length > max ? `${flat.slice(0, max - 1).trimEnd()}…` : flat;
}
