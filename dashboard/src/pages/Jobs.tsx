import { Empty, Page } from "../components/ui.js";
import { loadJobs } from "../data/jobs.js";
import { shortHash } from "../format.js";
import { useChainData } from "../state.js";

function cell(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return /^0x[0-9a-fA-F]{64}$/.test(value) ? shortHash(value) : value;
  if (value === null || value === undefined) return "–";
  if (typeof value === "object")
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  return String(value);
}

export default function Jobs() {
  const loaded = useChainData((client) => loadJobs(client), "jobs");
  return (
    <Page name="jobs" title="Training jobs" loaded={loaded}>
      {(r) => {
        if (!r.available) return <Empty>{r.reason}</Empty>;
        if (r.jobs.length === 0) return <Empty>No job has been posted to {r.registry}.</Empty>;
        const columns = Object.keys(r.jobs[0]!);
        return (
          <table data-table="jobs">
            <thead>
              <tr>
                {columns.map((c) => (
                  <th key={c}>{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {r.jobs.map((job, i) => (
                <tr key={i}>
                  {columns.map((c) => (
                    <td key={c}>{cell(job[c])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        );
      }}
    </Page>
  );
}
