// The federation's night: per observatory a table of its telescopes × 30-minute columns, UTC
// and the observatory's local time in the header, astronomical night shaded, every slot a
// button (free, held, booked, mine, past) that a scientist selects to book.
import { useEffect, useRef } from 'preact/hooks';
import type { Member, Telescope } from './api';
import { COLUMN_MS, columnsOf, isAstronomicalNight, localHour, utcHour } from './night';

export interface CellState { state: string; bookingId?: string }

export interface GridProps {
  members: Member[];
  telescopes: Telescope[];
  windowStartMs: number;
  slots: Map<string, CellState>;
  mine: Set<string>;
  selected: Set<string>;
  canBook: boolean;
  onToggle: (telescope: Telescope, startMs: number) => void;
}

export function slotKey(telescopeId: string, startMs: number): string {
  return `${telescopeId}|${startMs}`;
}

export function NightGrid(props: GridProps) {
  return (
    <div class="observatories">
      {props.members.map((member) => (
        <ObservatoryNight key={member.id} member={member} {...props} telescopes={props.telescopes.filter((t) => t.observatoryId === member.id)} />
      ))}
    </div>
  );
}

function ObservatoryNight(props: GridProps & { member: Member }) {
  const { member, windowStartMs } = props;
  const columns = columnsOf(windowStartMs);
  const night = columns.map((at) => isAstronomicalNight(at, member.latitude, member.longitude));
  const hours = columns.filter((_, i) => i % 2 === 0);
  const scroller = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // Start each observatory's row at its first bookable hour: on a phone the night is off-screen otherwise.
    const box = scroller.current;
    const first = box?.querySelector<HTMLElement>('td.slot');
    const names = box?.querySelector<HTMLElement>('th.telescope');
    if (box && first && names && box.scrollLeft === 0) box.scrollLeft = Math.max(0, first.offsetLeft - names.offsetWidth - 8);
  }, [props.telescopes.length, windowStartMs]);
  return (
    <section class="observatory" aria-labelledby={`obs-${member.id}`}>
      <h3 id={`obs-${member.id}`}>{member.name} <small>{member.site} · local time {member.timezone}</small></h3>
      <div class="scroll" ref={scroller} tabIndex={0} aria-label={`${member.name}: slots, scroll sideways for more hours`}>
        <table class="night">
          <caption class="visually-hidden">{member.name}: each telescope's slots from {utcHour(windowStartMs)} UTC for 24 hours; shaded columns are astronomical night there</caption>
          <thead>
            <tr><th scope="row">UTC</th>{hours.map((at) => <th scope="col" colSpan={2} class={night[columns.indexOf(at)] ? 'dark' : ''}>{utcHour(at)}</th>)}</tr>
            <tr class="local"><th scope="row">local</th>{hours.map((at) => <th colSpan={2} class={night[columns.indexOf(at)] ? 'dark' : ''}>{localHour(at, member.timezone)}</th>)}</tr>
          </thead>
          <tbody>
            {props.telescopes.map((telescope) => <TelescopeRow key={telescope.id} {...props} telescope={telescope} columns={columns} night={night} />)}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function TelescopeRow(props: GridProps & { telescope: Telescope; columns: number[]; night: boolean[] }) {
  const { telescope, columns, night } = props;
  const span = telescope.slotMinutes * 60_000 / COLUMN_MS;
  const cells = [];
  for (let i = 0; i < columns.length; i += span) {
    const at = columns[i]!;
    const hour = new Date(at).getUTCHours();
    const { from, to } = telescope.bookableHoursUtc;
    const bookable = from < to ? hour >= from && hour < to : hour >= from || hour < to;
    const dark = night[i] ? ' dark' : '';
    if (!bookable) {
      cells.push(<td colSpan={span} class={`closed${dark}`} aria-hidden="true" />);
      continue;
    }
    const key = slotKey(telescope.id, at);
    const cell = props.slots.get(key);
    const state = cell ? (cell.bookingId && props.mine.has(cell.bookingId) && cell.state === 'booked' ? 'mine' : cell.state) : 'unknown';
    const selected = props.selected.has(key);
    const label = `${telescope.name} ${utcHour(at)}–${utcHour(at + telescope.slotMinutes * 60_000)} UTC: ${state}${selected ? ', selected' : ''}`;
    cells.push(
      <td colSpan={span} class={`slot${dark}`}>
        <button
          type="button"
          class={`cell ${state}${selected ? ' selected' : ''}`}
          data-slot={key}
          data-state={state}
          aria-label={label}
          aria-pressed={selected}
          disabled={!props.canBook || (state !== 'free' && !selected)}
          onClick={() => props.onToggle(telescope, at)}
        >
          {MARK[state] ?? ''}
        </button>
      </td>,
    );
  }
  return (
    <tr>
      <th scope="row" class="telescope" title={`${telescope.instrument}, ${telescope.apertureM} m`}>{telescope.name}<small>{telescope.slotMinutes} min slots</small></th>
      {cells}
    </tr>
  );
}

const MARK: Record<string, string> = { held: 'H', booked: 'B', mine: '★', releasing: 'R', past: '·' };
