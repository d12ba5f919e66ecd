import { describe, expect, it } from 'vitest';
import {
	PUSH_SERVICE_UNAVAILABLE,
	WebPush,
	applicationServerKey,
	type PushBrowser,
	type PushServer,
	type SubscriptionJson
} from './web-push.svelte';

const ENDPOINT = 'https://push.example.com/send/abc';

function fakeSubscription(): PushSubscription & { unsubscribed: boolean } {
	const subscription = {
		endpoint: ENDPOINT,
		unsubscribed: false,
		toJSON: () => ({ endpoint: ENDPOINT, keys: { p256dh: 'BPkey', auth: 'authsecret' } }),
		unsubscribe: async () => {
			subscription.unsubscribed = true;
			return true;
		}
	};
	return subscription as unknown as PushSubscription & { unsubscribed: boolean };
}

interface Options {
	permission?: NotificationPermission;
	granted?: NotificationPermission;
	existing?: PushSubscription | null;
	subscribe?: () => Promise<PushSubscription>;
	supported?: boolean;
}

function browser(options: Options): PushBrowser {
	let current = options.existing ?? null;
	const pushManager = {
		getSubscription: async () => current,
		subscribe: async () => {
			current = await (options.subscribe ?? (async () => fakeSubscription()))();
			return current;
		}
	};
	return {
		supported: () => options.supported ?? true,
		permission: () => options.permission ?? 'default',
		requestPermission: async () => options.granted ?? 'granted',
		registration: async () => ({ pushManager }) as unknown as ServiceWorkerRegistration
	};
}

function server(): PushServer & { stored: { id: string; target: string }[]; sent: SubscriptionJson[] } {
	const stored: { id: string; target: string }[] = [];
	const sent: SubscriptionJson[] = [];
	return {
		stored,
		sent,
		publicKey: async () => 'BA',
		subscriptions: async () => [...stored],
		subscribe: async (s) => {
			sent.push(s);
			stored.push({ id: `id${stored.length}`, target: s.endpoint });
		},
		unsubscribe: async (id) => {
			stored.splice(
				stored.findIndex((s) => s.id === id),
				1
			);
		}
	};
}

describe('push on this browser', () => {
	it('says when the browser cannot do push, or notifications are blocked', async () => {
		const unsupported = new WebPush(server(), browser({ supported: false }));
		await unsupported.check();
		expect(unsupported.status).toBe('unsupported');
		const blocked = new WebPush(server(), browser({ permission: 'denied' }));
		await blocked.check();
		expect(blocked.status).toBe('denied');
	});

	it('subscribes, tells the server the keys, and unsubscribes on both sides', async () => {
		const api = server();
		const push = new WebPush(api, browser({}));
		await push.check();
		expect(push.status).toBe('off');
		await push.enable();
		expect(push.status).toBe('on');
		expect(api.sent).toEqual([{ endpoint: ENDPOINT, keys: { p256dh: 'BPkey', auth: 'authsecret' } }]);
		await push.disable();
		expect(push.status).toBe('off');
		expect(api.stored).toEqual([]);
	});

	it('shows a clear error, and does not hang, when the push service cannot be reached', async () => {
		const failing = new WebPush(
			server(),
			browser({ subscribe: () => Promise.reject(new Error('Registration failed - push service error')) })
		);
		await failing.enable();
		expect(failing.status).toBe('error');
		expect(failing.error).toContain(PUSH_SERVICE_UNAVAILABLE);
		expect(failing.error).toContain('push service error');

		const silent = new WebPush(server(), browser({ subscribe: () => new Promise(() => {}) }), 20);
		await silent.enable();
		expect(silent.status).toBe('error');
		expect(silent.error).toContain('did not answer in time');
	});

	it('stays off when permission is not given', async () => {
		const push = new WebPush(server(), browser({ granted: 'default' }));
		await push.enable();
		expect(push.status).toBe('off');
		expect(push.error).toContain('did not get permission');
	});

	it('decodes the base64url application server key', () => {
		expect(Array.from(applicationServerKey('AQID_w'))).toEqual([1, 2, 3, 255]);
	});
});
