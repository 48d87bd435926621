import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";

/** An app listening on a real loopback socket. */
export interface Listening {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Closes the server and every open connection (streams included). */
  readonly close: () => Promise<void>;
}

/** Serves `app` with `@hono/node-server` on 127.0.0.1 and an ephemeral port. */
export async function listen(app: Hono): Promise<Listening> {
  let server: Server | undefined;
  const port = await new Promise<number>((resolve) => {
    server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info: AddressInfo) =>
      resolve(info.port),
    ) as Server;
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server?.closeAllConnections();
        server?.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}
