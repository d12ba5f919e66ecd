import { api, call } from './api/client';
import { errorMessage } from './api/errors';
import { sortNetworks, type NetworkInfo } from './connect';

/** The networks this PostWizard offers and how each connects, loaded once per page. */
export class NetworkCatalog {
	networks = $state<NetworkInfo[]>([]);
	status = $state<'loading' | 'error' | 'ready'>('loading');
	error = $state<string | null>(null);

	#fetch: () => Promise<NetworkInfo[]>;

	constructor(fetch: () => Promise<NetworkInfo[]> = () => call(api.GET('/api/v1/networks'))) {
		this.#fetch = fetch;
	}

	async load(): Promise<void> {
		this.status = 'loading';
		this.error = null;
		try {
			this.networks = sortNetworks(await this.#fetch());
			this.status = 'ready';
		} catch (err) {
			this.error = errorMessage(err);
			this.status = 'error';
		}
	}

	find(id: string): NetworkInfo | null {
		return this.networks.find((n) => n.id === id) ?? null;
	}
}
