/**
 * Download a workspace's export archive (`GET …/export`, a zip streamed as it is written),
 * reporting the bytes received so the page can show "Preparing…" with a count.
 */
import { api } from './api/client';
import { parseApiError } from './api/errors';

/** The file name the server suggests in `Content-Disposition`, else a sensible default. */
export function exportFileName(disposition: string | null, fallback = 'postwizard-export.zip'): string {
	const match = /filename="?([^";]+)"?/i.exec(disposition ?? '');
	const name = match?.[1]?.trim();
	return name && /^[\w.-]+$/.test(name) ? name : fallback;
}

/** Read the whole stream, calling `onBytes` with the running total. */
export async function collect(stream: ReadableStream<Uint8Array>, onBytes: (total: number) => void): Promise<Blob> {
	const reader = stream.getReader();
	const parts: Uint8Array[] = [];
	let total = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		parts.push(value);
		total += value.byteLength;
		onBytes(total);
	}
	return new Blob(parts as BlobPart[], { type: 'application/zip' });
}

export interface ExportedArchive {
	blob: Blob;
	fileName: string;
}

export async function fetchWorkspaceExport(
	workspaceId: string,
	onBytes: (total: number) => void,
	signal?: AbortSignal
): Promise<ExportedArchive> {
	const { data, response, error } = await api.GET('/api/v1/workspaces/{workspace_id}/export', {
		params: { path: { workspace_id: workspaceId } },
		parseAs: 'stream',
		signal
	});
	if (!response.ok || !data) {
		let parsed: unknown = error;
		if (data) {
			try {
				parsed = await new Response(data as ReadableStream).json();
			} catch {
				parsed = undefined;
			}
		}
		throw parseApiError(response.status, parsed, response.headers.get('Retry-After'));
	}
	const blob = await collect(data as ReadableStream<Uint8Array>, onBytes);
	return { blob, fileName: exportFileName(response.headers.get('Content-Disposition')) };
}

/** Hand a downloaded blob to the browser as a file. */
export function saveBlob(blob: Blob, fileName: string): void {
	const url = URL.createObjectURL(blob);
	const link = document.createElement('a');
	link.href = url;
	link.download = fileName;
	document.body.append(link);
	link.click();
	link.remove();
	// Give the browser a moment to start the download before the URL goes.
	setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function formatMegabytes(bytes: number): string {
	return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
