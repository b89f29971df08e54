import type { OutgoingHttpHeaders } from 'node:http';

/** What a page renderer gets. */
export interface PageContext {
  /** `/` or `/api/v1/pipe/`: the prefix links and sends use. */
  readonly base: string;
  readonly version: string;
  /** The pipe path the page is about (for dashboard and video), e.g. `/x`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** `scheme://host` as the client reached us. */
  readonly origin: string;
}

export interface PageResult {
  readonly status?: number;
  readonly headers: OutgoingHttpHeaders;
  readonly body: string;
}

export type Page = (ctx: PageContext) => PageResult;
