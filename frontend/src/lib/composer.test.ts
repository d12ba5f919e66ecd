import { describe, expect, it } from 'vitest';
import { ApiError } from './api/errors';
import {
	activityLabel,
	addLabels,
	buildCheckBody,
	buildPostBody,
	counterView,
	draftFromPost,
	effectiveText,
	emptyDraft,
	errorPlace,
	eventPostId,
	excerpt,
	newTarget,
	normalizeLink,
	postPermissions,
	statusLabel,
	targetErrors,
	type ComposerDraft,
	type Post
} from './composer';

function post(overrides: Partial<Post> = {}): Post {
	return {
		id: 'p1',
		status: 'draft',
		text: 'Hello',
		link: null,
		media_ids: [],
		targets: [],
		labels: [],
		campaign: null,
		scheduled_at: null,
		schedule_timezone: null,
		recurrence_rule: null,
		evergreen_every_days: null,
		author_id: 'u1',
		created_at: '2026-01-01T00:00:00Z',
		updated_at: '2026-01-01T00:00:00Z',
		...overrides
	} as Post;
}

describe('request bodies', () => {
	const draft: ComposerDraft = {
		text: 'Base text #launch',
		link: ' example.com/post ',
		mediaIds: ['m1', 'm2'],
		labels: ['launch'],
		campaign: '  Spring ',
		targets: [
			newTarget('a1'),
			{ accountId: 'a2', customise: true, text: 'Short for X', mediaIds: null, options: {} },
			{ accountId: 'a3', customise: false, text: 'kept but unused', mediaIds: [], options: { first_comment: 'hi' } }
		]
	};

	it('builds the create/update body', () => {
		expect(buildPostBody(draft)).toEqual({
			text: 'Base text #launch',
			link: 'https://example.com/post',
			media_ids: ['m1', 'm2'],
			labels: ['launch'],
			campaign: 'Spring',
			targets: [
				{ account_id: 'a1' },
				{ account_id: 'a2', text: 'Short for X' },
				{ account_id: 'a3', media_ids: [], options: { first_comment: 'hi' } }
			]
		});
	});

	it('sends null for an empty link and campaign', () => {
		const body = buildPostBody({ ...emptyDraft(), link: '   ', campaign: '' });
		expect(body.link).toBeNull();
		expect(body.campaign).toBeNull();
		expect(body.targets).toEqual([]);
	});

	it('checks only what counts toward limits', () => {
		expect(buildCheckBody(draft)).toEqual({
			text: 'Base text #launch',
			media_ids: ['m1', 'm2'],
			targets: buildPostBody(draft).targets
		});
	});

	it('does not share arrays with the state', () => {
		const body = buildPostBody(draft);
		body.media_ids?.push('m3');
		expect(draft.mediaIds).toEqual(['m1', 'm2']);
	});

	it('round-trips a saved post', () => {
		const saved = post({
			text: 'T',
			link: 'https://a.test',
			media_ids: ['m1'],
			labels: ['x'],
			campaign: 'C',
			targets: [
				{ id: 't1', account_id: 'a1', network: 'x', account_name: 'A', text: null, media_ids: null, options: {} },
				{ id: 't2', account_id: 'a2', network: 'bluesky', account_name: 'B', text: 'custom', media_ids: ['m1'], options: { lang: 'en' } }
			]
		});
		const draftBack = draftFromPost(saved);
		expect(draftBack.targets[0]).toEqual({ accountId: 'a1', customise: false, text: '', mediaIds: null, options: {} });
		expect(draftBack.targets[1]?.customise).toBe(true);
		expect(buildPostBody(draftBack)).toEqual({
			text: 'T',
			link: 'https://a.test',
			media_ids: ['m1'],
			labels: ['x'],
			campaign: 'C',
			targets: [
				{ account_id: 'a1' },
				{ account_id: 'a2', text: 'custom', media_ids: ['m1'], options: { lang: 'en' } }
			]
		});
	});

	it('knows which text a target publishes', () => {
		expect(effectiveText({ text: 'base' }, { customise: false, text: 'own' })).toBe('base');
		expect(effectiveText({ text: 'base' }, { customise: true, text: '' })).toBe('');
	});

	it('normalizes links', () => {
		expect(normalizeLink('example.com')).toBe('https://example.com');
		expect(normalizeLink('http://example.com')).toBe('http://example.com');
		expect(normalizeLink('')).toBe('');
	});
});

describe('labels', () => {
	it('adds comma separated labels without repeats', () => {
		expect(addLabels(['Launch'], ' launch, blog ,  , New   year ')).toEqual(['Launch', 'blog', 'New year']);
	});

	it('stops at the maximum', () => {
		expect(addLabels(['a', 'b'], 'c,d', 3)).toEqual(['a', 'b', 'c']);
	});
});

describe('counters and errors', () => {
	it('shows count / limit and whether it is over', () => {
		expect(counterView({ text_length: { count: 23, limit: 280 } })).toEqual({ text: '23 / 280', over: false, ratio: 23 / 280 });
		expect(counterView({ text_length: { count: 301, limit: 300 } }).over).toBe(true);
	});

	it('maps limit_exceeded fields to accounts', () => {
		const error = new ApiError(422, 'limit_exceeded', 'X: too long', [
			{ field: 'targets.1', message: 'text_too_long: Text is 300 characters; X allows 280.' },
			{ field: 'targets.1', message: 'too_many_media: 5 images; X allows 4.' },
			{ field: 'targets.7', message: 'nope' },
			{ field: 'link', message: 'bad' }
		]);
		expect(targetErrors(error, ['a0', 'a1'])).toEqual({
			a1: ['Text is 300 characters; X allows 280.', '5 images; X allows 4.']
		});
		expect(targetErrors(new ApiError(422, 'unknown_account', 'x', [{ field: 'targets.0.account_id', message: 'not an account of this workspace' }]), ['a0'])).toEqual({
			a0: ['not an account of this workspace']
		});
	});

	it('places errors next to what they concern', () => {
		const e = (code: string, fields: { field: string; message: string }[] = []) => new ApiError(422, code, 'm', fields);
		expect(errorPlace(e('limit_exceeded'))).toBe('targets');
		expect(errorPlace(e('no_targets'))).toBe('targets');
		expect(errorPlace(e('approval_required'))).toBe('schedule');
		expect(errorPlace(e('no_free_slot'))).toBe('schedule');
		expect(errorPlace(e('time_in_past'))).toBe('schedule');
		expect(errorPlace(e('unknown_media'))).toBe('media');
		expect(errorPlace(e('validation_error', [{ field: 'body.link', message: 'bad url' }]))).toBe('link');
		expect(errorPlace(e('validation_error', [{ field: 'campaign', message: 'too long' }]))).toBe('campaign');
		expect(errorPlace(e('invalid_state'))).toBe('general');
	});
});

describe('permissions', () => {
	it('lets editors write and submit their drafts', () => {
		const p = postPermissions(post({ status: 'draft', author_id: 'me' }), 'editor', 'me');
		expect(p).toMatchObject({ edit: true, submit: true, approve: false, schedule: false, cancel: true, delete: true, comment: true });
	});

	it('keeps editors off other people’s drafts’ destructive actions', () => {
		const p = postPermissions(post({ status: 'draft', author_id: 'other' }), 'editor', 'me');
		expect(p).toMatchObject({ edit: true, submit: false, cancel: false, delete: false });
	});

	it('lets admins approve, schedule and unschedule', () => {
		expect(postPermissions(post({ status: 'pending_approval' }), 'admin', 'me')).toMatchObject({ approve: true, reject: true, schedule: false });
		expect(postPermissions(post({ status: 'draft' }), 'owner', 'me').schedule).toBe(true);
		expect(postPermissions(post({ status: 'scheduled' }), 'admin', 'me')).toMatchObject({ edit: true, unschedule: true, cancel: true, delete: false });
	});

	it('lets editors schedule approved posts only and not edit scheduled ones', () => {
		expect(postPermissions(post({ status: 'approved' }), 'editor', 'me').schedule).toBe(true);
		expect(postPermissions(post({ status: 'scheduled' }), 'editor', 'me')).toMatchObject({ edit: false, unschedule: false });
	});

	it('gives viewers nothing', () => {
		const p = postPermissions(post({ status: 'draft', author_id: 'me' }), 'viewer', 'me');
		expect(Object.values(p).every((v) => v === false)).toBe(true);
	});

	it('allows nothing on published posts but commenting', () => {
		const p = postPermissions(post({ status: 'published' }), 'owner', 'me');
		expect(p).toMatchObject({ edit: false, submit: false, cancel: false, delete: false, comment: true });
	});
});

describe('labels for people', () => {
	it('names statuses and activity', () => {
		expect(statusLabel('pending_approval')).toBe('Waiting for approval');
		expect(statusLabel('weird')).toBe('weird');
		expect(activityLabel('post.scheduled')).toBe('scheduled it');
		expect(activityLabel('post.something_new')).toBe('something new');
	});

	it('reads the post id of a live event', () => {
		expect(eventPostId({ post_id: 'p1', status: 'draft' })).toBe('p1');
		expect(eventPostId({ id: 'x' })).toBeNull();
		expect(eventPostId(null)).toBeNull();
	});

	it('shortens text for lists', () => {
		expect(excerpt('  a\n\nb  ')).toBe('a b');
		expect(excerpt('abcdefghij', 5)).toBe('abcd…');
	});
});
