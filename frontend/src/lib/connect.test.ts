import { describe, expect, it } from 'vitest';
import { ApiError } from './api/errors';
import {
	connectErrors,
	connectMethodLabel,
	filledValues,
	missingFields,
	reconnectNeedsInput,
	returnBanner,
	sortNetworks,
	submitLabel,
	type NetworkInfo
} from './connect';

function network(id: NetworkInfo['id'], connect: NetworkInfo['connect'], fields: NetworkInfo['connect_fields'] = []): NetworkInfo {
	const label = id.charAt(0).toUpperCase() + id.slice(1);
	return {
		id,
		label,
		connect,
		unavailable_reason: connect === 'unavailable' ? `${label} arrives later.` : null,
		connect_fields: fields,
		provides_metrics: connect === 'unavailable' ? null : true,
		max_text_length: 500
	};
}

const handle = { name: 'handle', label: 'Handle', kind: 'text', help: '', placeholder: '', required: true } as const;
const secret = { name: 'app_password', label: 'App password', kind: 'password', help: '', placeholder: '', required: true } as const;
const optional = { name: 'display_name', label: 'Display name', kind: 'text', help: '', placeholder: '', required: false } as const;

describe('networks', () => {
	it('puts the sandbox first, then connectable networks, then unavailable ones', () => {
		const sorted = sortNetworks([
			network('x', 'unavailable'),
			network('mastodon', 'oauth'),
			network('sandbox', 'form'),
			network('bluesky', 'form'),
			network('discord', 'unavailable')
		]);
		expect(sorted.map((n) => n.id)).toEqual(['sandbox', 'bluesky', 'mastodon', 'discord', 'x']);
	});

	it('says how each network connects and what the button does', () => {
		expect(connectMethodLabel(network('mastodon', 'oauth'))).toBe('Sign in on Mastodon');
		expect(connectMethodLabel(network('bluesky', 'form'))).toBe('Enter its details');
		expect(connectMethodLabel(network('x', 'unavailable'))).toBe('Needs setup');
		expect(submitLabel(network('sandbox', 'form'))).toBe('Add sandbox account');
		expect(submitLabel(network('bluesky', 'form'))).toBe('Connect Bluesky');
		expect(submitLabel(network('bluesky', 'form'), true)).toBe('Reconnect');
		expect(submitLabel(network('mastodon', 'oauth'), true)).toBe('Continue to Mastodon');
	});

	it('asks for input on reconnect only where a secret must be typed again', () => {
		expect(reconnectNeedsInput(network('sandbox', 'form', [handle, optional]))).toBe(false);
		expect(reconnectNeedsInput(network('bluesky', 'form', [handle, secret]))).toBe(true);
		expect(reconnectNeedsInput(network('mastodon', 'oauth', [handle]))).toBe(false);
		const webhook = { name: 'webhook_url', label: 'Webhook URL', kind: 'url', help: '', placeholder: '', required: true } as const;
		expect(reconnectNeedsInput(network('discord', 'form', [webhook]))).toBe(true);
		expect(reconnectNeedsInput(network('bluesky', 'form', [{ ...webhook, required: false }]))).toBe(false);
	});
});

describe('the connect form', () => {
	it('names the required fields left empty and sends only filled-in values', () => {
		expect(missingFields([handle, optional, secret], { handle: '  ', display_name: '' })).toEqual({
			handle: 'Handle is required.',
			app_password: 'App password is required.'
		});
		expect(filledValues({ handle: ' acme ', display_name: ' ' })).toEqual({ handle: 'acme' });
	});

	it('puts the API’s field errors at their fields', () => {
		const err = new ApiError(422, 'connect_failed', 'Use 1 to 30 letters.', [{ field: 'fields.handle', message: 'Use 1 to 30 letters.' }]);
		expect(connectErrors(err, ['handle', 'display_name'])).toEqual({
			fields: { handle: 'Use 1 to 30 letters.' },
			timezone: null,
			form: null
		});
		const zone = new ApiError(422, 'validation_error', 'Bad zone', [{ field: 'timezone', message: 'unknown zone' }]);
		expect(connectErrors(zone, ['handle'])).toMatchObject({ timezone: 'unknown zone', form: null });
	});

	it('shows the message above the form when no field is at fault', () => {
		const down = new ApiError(502, 'network_error', 'Could not reach Bluesky.');
		expect(connectErrors(down, ['handle'])).toEqual({ fields: {}, timezone: null, form: 'Could not reach Bluesky.' });
		const other = new ApiError(422, 'validation_error', 'Unknown field', [{ field: 'fields.password', message: 'unknown field' }]);
		expect(connectErrors(other, ['handle']).form).toBe('Unknown field');
	});
});

describe('back from a network’s sign-in', () => {
	it('reads the banner from the address', () => {
		expect(returnBanner(new URLSearchParams('connected=a1'))).toEqual({
			kind: 'success',
			message: 'The account is connected.',
			accountId: 'a1'
		});
		expect(returnBanner(new URLSearchParams('error=Access+was+not+granted.'))).toEqual({
			kind: 'error',
			message: 'Access was not granted.',
			accountId: null
		});
		expect(returnBanner(new URLSearchParams(''))).toBeNull();
	});
});
