// The few Orthanc REST calls the ingest watcher needs: the /changes feed, an instance's size, tags and calling AE
// title, and its file; and storing a file (the STOW-RS endpoint). Any network failure or 5xx is transient (OrthancUnavailable: retry later, cursor kept).
import { AppError } from "../errors/index.ts";

export interface OrthancRestOptions {
  url: string;
  credentials: { username: string; password: string } | null;
  timeoutMs?: number;
}

export interface OrthancChange {
  seq: number;
  changeType: string;
  resourceType: string;
  id: string;
}

export class OrthancUnavailable extends AppError {
  constructor(message: string) {
    super("ORTHANC_UNAVAILABLE", message, 503, true);
  }
}

const ORTHANC_ID = /^[0-9a-f-]{8,64}$/;

export function createOrthancRest(options: OrthancRestOptions) {
  const base = options.url.replace(/\/+$/, "");
  const auth = options.credentials
    ? `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString("base64")}`
    : null;
  const get = async (path: string): Promise<Response | null> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        headers: auth ? { authorization: auth } : {},
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new OrthancUnavailable(`Orthanc unreachable: ${(error as Error).message}`);
    }
    if (res.status === 404) {
      await res.arrayBuffer();
      return null;
    }
    if (!res.ok) {
      await res.arrayBuffer();
      throw new OrthancUnavailable(`Orthanc GET ${path.split("?")[0]} answered ${res.status}`);
    }
    return res;
  };
  const instancePath = (id: string): string => {
    // ids come from Orthanc's own feed; checked anyway, as they become part of a URL
    if (!ORTHANC_ID.test(id)) throw new Error("malformed Orthanc id");
    return `/instances/${id}`;
  };
  return {
    async changes(since: number, limit: number): Promise<{ changes: OrthancChange[]; last: number; done: boolean }> {
      const res = await get(`/changes?since=${since}&limit=${limit}`);
      if (!res) throw new OrthancUnavailable("Orthanc has no /changes");
      const body = (await res.json()) as {
        Changes: { Seq: number; ChangeType: string; ResourceType: string; ID: string }[];
        Last: number;
        Done: boolean;
      };
      return {
        changes: body.Changes.map((c) => ({ seq: c.Seq, changeType: c.ChangeType, resourceType: c.ResourceType, id: c.ID })),
        last: body.Last,
        done: body.Done,
      };
    },
    /** null when the instance is gone (deleted from Orthanc since the change). */
    async fileSize(id: string): Promise<number | null> {
      const res = await get(instancePath(id));
      return res ? Number(((await res.json()) as { FileSize?: number }).FileSize ?? 0) : null;
    },
    async tags(id: string): Promise<Record<string, unknown> | null> {
      const res = await get(`${instancePath(id)}/simplified-tags`);
      return res ? ((await res.json()) as Record<string, unknown>) : null;
    },
    /** The AE title that sent the instance (C-STORE); null for STOW-RS or REST uploads. */
    async remoteAet(id: string): Promise<string | null> {
      const res = await get(`${instancePath(id)}/metadata/RemoteAET`);
      const text = res ? (await res.text()).trim() : "";
      return text || null;
    },
    /**
     * Stores a DICOM file through the REST API (the STOW-RS endpoint's forward): Orthanc's id and whether it held the
     * instance already, or "refused" when Orthanc cannot read the file (4xx). Unreachable or 5xx: OrthancUnavailable.
     */
    async store(bytes: Uint8Array): Promise<{ id: string; alreadyStored: boolean } | "refused"> {
      let res: Response;
      try {
        res = await fetch(`${base}/instances`, {
          method: "POST",
          headers: { "content-type": "application/dicom", ...(auth ? { authorization: auth } : {}) },
          body: bytes as Uint8Array<ArrayBuffer>,
          signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
        });
      } catch (error) {
        throw new OrthancUnavailable(`Orthanc unreachable: ${(error as Error).message}`);
      }
      if (res.status >= 400 && res.status < 500) {
        await res.arrayBuffer();
        return "refused";
      }
      if (!res.ok) {
        await res.arrayBuffer();
        throw new OrthancUnavailable(`Orthanc POST /instances answered ${res.status}`);
      }
      const body = (await res.json()) as { ID?: string; Status?: string };
      if (typeof body.ID !== "string") throw new OrthancUnavailable("Orthanc stored the instance without an id");
      return { id: body.ID, alreadyStored: body.Status === "AlreadyStored" };
    },
    async file(id: string): Promise<Uint8Array | null> {
      const res = await get(`${instancePath(id)}/file`);
      return res ? new Uint8Array(await res.arrayBuffer()) : null;
    },
  };
}

export type OrthancRest = ReturnType<typeof createOrthancRest>;
