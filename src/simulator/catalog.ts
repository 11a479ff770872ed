/**
 * Static reference data the simulated portfolio is drawn from: Leap's codes and enums, programs
 * with delivery periods, devices, names and Leap's action codes (regions, utilities and cities
 * are in regions.ts). Codes marked "made up" are not in any public Leap material.
 */

export const REGION_CODES = ['CAISO', 'ERCOT', 'NYISO', 'ISONE', 'PJM', 'SERC', 'WECC_SW', 'WECC_PC'] as const;
export type RegionCode = (typeof REGION_CODES)[number];

export const STATUS_CODES = ['PENDING', 'ELIGIBLE', 'ACTIVE', 'INELIGIBLE', 'NOT_PARTICIPATING'] as const;
export type StatusName = (typeof STATUS_CODES)[number];
export const PENDING = 0;
export const ELIGIBLE = 1;
export const ACTIVE = 2;
export const INELIGIBLE = 3;
export const NOT_PARTICIPATING = 4;
/** Leap v1 wrote statuses in title case. */
export const V1_STATUS = ['Pending', 'Eligible', 'Active', 'Ineligible', 'Not Participating'] as const;

export const PREFERENCES = ['PARTICIPATE', 'IDLE', 'DISENROLL'] as const;
export type PreferenceName = (typeof PREFERENCES)[number];
export const V1_PREFERENCE = ['Participate', 'Idle', 'Disenroll'] as const;
export const PREF_PARTICIPATE = 0;
export const PREF_IDLE = 1;
export const PREF_DISENROLL = 2;

export const METER_TYPE_CODES = ['UTILITY_METER', 'DEVICE', 'SUBMETER'] as const;
export type MeterTypeName = (typeof METER_TYPE_CODES)[number];
export const CLASSIFICATIONS = ['RESIDENTIAL', 'COMMERCIAL'] as const;
export const CREATED_BY = ['UTILITY', 'PARTNER', 'LEAP'] as const;

/**
 * A season of a program: delivery periods start at `startMonth` (1-12) and last `months`.
 * Monthly programs have twelve one-month seasons.
 */
export interface ProgramInfo {
  id: string;
  periodPrefix: string;
  seasons: readonly { startMonth: number; months: number }[];
}

const MONTHLY = Array.from({ length: 12 }, (_, i) => ({ startMonth: i + 1, months: 1 }));

export const PROGRAMS: Readonly<Record<string, ProgramInfo>> = {
  CCA: { id: 'CCA', periodPrefix: 'CAISO-CCA', seasons: MONTHLY },
  DRAM: { id: 'DRAM', periodPrefix: 'CAISO-DRAM', seasons: MONTHLY },
  ELRP: { id: 'ELRP', periodPrefix: 'CAISO-ELRP', seasons: [{ startMonth: 5, months: 6 }, { startMonth: 11, months: 6 }] },
  'CEC-DSGS': { id: 'CEC-DSGS', periodPrefix: 'CEC-DSGS', seasons: [{ startMonth: 5, months: 6 }, { startMonth: 11, months: 6 }] },
  'NYISO-SCR': { id: 'NYISO-SCR', periodPrefix: 'NYISO-SCR', seasons: [{ startMonth: 5, months: 6 }, { startMonth: 11, months: 6 }] },
  'CONED-CSRP': { id: 'CONED-CSRP', periodPrefix: 'CONED-CSRP', seasons: [{ startMonth: 5, months: 5 }, { startMonth: 10, months: 7 }] },
  'CONED-DLRP': { id: 'CONED-DLRP', periodPrefix: 'CONED-DLRP', seasons: [{ startMonth: 5, months: 5 }, { startMonth: 10, months: 7 }] },
  'NATGRID-CS': { id: 'NATGRID-CS', periodPrefix: 'NATGRID-CS', seasons: [{ startMonth: 6, months: 4 }, { startMonth: 10, months: 8 }] },
  'EVERSOURCE-CS': { id: 'EVERSOURCE-CS', periodPrefix: 'EVERSOURCE-CS', seasons: [{ startMonth: 6, months: 4 }, { startMonth: 10, months: 8 }] },
  'ERCOT-ERS': {
    id: 'ERCOT-ERS',
    periodPrefix: 'ERCOT-ERS',
    seasons: [
      { startMonth: 2, months: 4 },
      { startMonth: 6, months: 4 },
      { startMonth: 10, months: 4 },
    ],
  },
  'ONCOR-CLM': { id: 'ONCOR-CLM', periodPrefix: 'ONCOR-CLM', seasons: [{ startMonth: 6, months: 4 }, { startMonth: 10, months: 8 }] },
  'PJM-CAPACITY': { id: 'PJM-CAPACITY', periodPrefix: 'PJM-CAPACITY', seasons: [{ startMonth: 6, months: 12 }] },
  'TVA-RPO': { id: 'TVA-RPO', periodPrefix: 'TVA-RPO', seasons: [{ startMonth: 1, months: 12 }] },
  'SRP-RPO': { id: 'SRP-RPO', periodPrefix: 'SRP-RPO', seasons: [{ startMonth: 1, months: 12 }] },
  'PSE-RPO': { id: 'PSE-RPO', periodPrefix: 'PSE-RPO', seasons: [{ startMonth: 1, months: 12 }] },
};

export const MONTH_ABBR = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;

/** Partner-side required actions; the bit is what a meter stores. */
export interface ActionInfo {
  bit: number;
  code: string;
  actionType: string;
}
export const PARTNER_ACTIONS: readonly ActionInfo[] = [
  { bit: 1, code: 'AUTH_0001', actionType: 'IS_AUTHORIZED' },
  { bit: 2, code: 'SERV_0005', actionType: 'NO_MISSING_FIELDS' },
  // Made up: Leap publishes no MRKT_ codes; this one stands for a conflicting-program enrollment.
  { bit: 4, code: 'MRKT_0002', actionType: 'NOT_ENROLLED_IN_CONFLICTING_PROGRAM' },
];
export const AUTH_0001 = 1;
export const SERV_0005 = 2;
export const MRKT_0002 = 4;
export const PARTNER_ACTION_CODES = ['AUTH_0001', 'SERV_0005', 'MRKT_0002'] as const;
export type PartnerActionCode = (typeof PARTNER_ACTION_CODES)[number];

export const AUTH_0001_DESCRIPTION = 'End customer must re-authorize meter. Learn more in our partner guide';
export const MRKT_0002_DESCRIPTION = 'Meter is enrolled in a conflicting program';

/** Leap-side actions. */
export const LEAP_0001 = 1;
// Made up: stands for an ISO market registration Leap is still waiting on.
export const MRKT_0001 = 2;
export const LEAP_ACTION_CODES = ['LEAP_0001', 'MRKT_0001'] as const;
export type LeapActionCode = (typeof LEAP_ACTION_CODES)[number];
export const LEAP_0001_UNASSIGNED = 'The meter is not enrolled in the program';
export const LEAP_0001_NOMINATIONS = 'This meter does not have nominations set';
export const MRKT_0001_DESCRIPTION = 'Market registration for this meter is in progress with the ISO';

export const DEVICE_TYPES = [
  'BATTERY',
  'GENERATOR',
  'EV',
  'EV_CHARGER',
  'BIDIRECTIONAL_EV_CHARGER',
  'SMART_THERMOSTAT',
  'AIR_CONDITIONER',
  'HEAT_PUMP',
] as const;
export type DeviceTypeName = (typeof DEVICE_TYPES)[number];

export interface DeviceModel {
  type: DeviceTypeName;
  manufacturer: string;
  model: string;
  serialPrefix: string;
  powerKw?: number;
  energyKwh?: number;
  evseLevel?: 'EVSE_LEVEL_1' | 'EVSE_LEVEL_2';
  fuel?: 'DIESEL' | 'NATURAL_GAS';
}

export const DEVICE_MODELS: readonly DeviceModel[] = [
  { type: 'BATTERY', manufacturer: 'Tesla', model: 'Powerwall 2', serialPrefix: 'TG12', powerKw: 5, energyKwh: 13.5 },
  { type: 'BATTERY', manufacturer: 'Tesla', model: 'Powerwall 3', serialPrefix: 'TG13', powerKw: 11.5, energyKwh: 13.5 },
  { type: 'BATTERY', manufacturer: 'Enphase', model: 'IQ Battery 5P', serialPrefix: 'EN5P', powerKw: 3.84, energyKwh: 5 },
  { type: 'BATTERY', manufacturer: 'Enphase', model: 'IQ Battery 10T', serialPrefix: 'EN10', powerKw: 3.84, energyKwh: 10.08 },
  { type: 'BATTERY', manufacturer: 'LG Energy Solution', model: 'RESU 16H Prime', serialPrefix: 'LGR16', powerKw: 7, energyKwh: 16 },
  { type: 'BATTERY', manufacturer: 'FranklinWH', model: 'aPower 2', serialPrefix: 'FWH2', powerKw: 10, energyKwh: 15 },
  { type: 'BATTERY', manufacturer: 'SolarEdge', model: 'Home Battery 10kWh', serialPrefix: 'SEHB', powerKw: 5, energyKwh: 9.7 },
  { type: 'BATTERY', manufacturer: 'Generac', model: 'PWRcell M6', serialPrefix: 'GPWM6', powerKw: 7.6, energyKwh: 18 },
  { type: 'SMART_THERMOSTAT', manufacturer: 'ecobee', model: 'Smart Thermostat Premium', serialPrefix: 'EB4' },
  { type: 'SMART_THERMOSTAT', manufacturer: 'Google Nest', model: 'Learning Thermostat (4th gen)', serialPrefix: '09AA' },
  { type: 'SMART_THERMOSTAT', manufacturer: 'Honeywell Home', model: 'T9', serialPrefix: 'RCHT' },
  { type: 'SMART_THERMOSTAT', manufacturer: 'Emerson', model: 'Sensi Touch 2', serialPrefix: 'ST76' },
  { type: 'EV_CHARGER', manufacturer: 'ChargePoint', model: 'Home Flex', serialPrefix: 'CPH50', powerKw: 9.6, evseLevel: 'EVSE_LEVEL_2' },
  { type: 'EV_CHARGER', manufacturer: 'Wallbox', model: 'Pulsar Plus', serialPrefix: 'WBPP', powerKw: 11.5, evseLevel: 'EVSE_LEVEL_2' },
  { type: 'EV_CHARGER', manufacturer: 'Enphase', model: 'IQ EV Charger 2', serialPrefix: 'ENEV2', powerKw: 11.5, evseLevel: 'EVSE_LEVEL_2' },
  { type: 'EV_CHARGER', manufacturer: 'Emporia', model: 'Pro Charger', serialPrefix: 'EMPC', powerKw: 11.5, evseLevel: 'EVSE_LEVEL_2' },
  { type: 'EV_CHARGER', manufacturer: 'Lectron', model: 'Portable Level 1', serialPrefix: 'LCL1', powerKw: 1.4, evseLevel: 'EVSE_LEVEL_1' },
  { type: 'EV', manufacturer: 'Tesla', model: 'Model Y', serialPrefix: '7SAYG', energyKwh: 75 },
  { type: 'EV', manufacturer: 'Ford', model: 'F-150 Lightning', serialPrefix: '1FTVW', energyKwh: 131 },
  { type: 'EV', manufacturer: 'Hyundai', model: 'Ioniq 5', serialPrefix: 'KM8KR', energyKwh: 77.4 },
  { type: 'BIDIRECTIONAL_EV_CHARGER', manufacturer: 'Ford', model: 'Charge Station Pro', serialPrefix: 'FCSP', powerKw: 19.2, evseLevel: 'EVSE_LEVEL_2' },
  { type: 'BIDIRECTIONAL_EV_CHARGER', manufacturer: 'Wallbox', model: 'Quasar 2', serialPrefix: 'WBQ2', powerKw: 11.5, evseLevel: 'EVSE_LEVEL_2' },
  { type: 'HEAT_PUMP', manufacturer: 'Mitsubishi Electric', model: 'Hyper-Heat H2i', serialPrefix: 'MXZ', powerKw: 4.2 },
  { type: 'HEAT_PUMP', manufacturer: 'Daikin', model: 'Fit DZ6VS', serialPrefix: 'DZ6', powerKw: 5.1 },
  { type: 'AIR_CONDITIONER', manufacturer: 'Trane', model: 'XR16', serialPrefix: 'TR4TTR', powerKw: 3.5 },
  { type: 'AIR_CONDITIONER', manufacturer: 'Lennox', model: 'EL16XC1', serialPrefix: 'LNX58', powerKw: 3.8 },
  { type: 'GENERATOR', manufacturer: 'Generac', model: 'Guardian 24kW', serialPrefix: 'GNG24', powerKw: 24, fuel: 'NATURAL_GAS' },
  { type: 'GENERATOR', manufacturer: 'Kohler', model: '20RESCL', serialPrefix: 'KOH20', powerKw: 20, fuel: 'NATURAL_GAS' },
  { type: 'GENERATOR', manufacturer: 'Cummins', model: 'C150D6', serialPrefix: 'CUMD6', powerKw: 150, fuel: 'DIESEL' },
];

export const INSTALLERS = ['Sunrun', 'SunPower by Blue Raven', 'Freedom Forever', 'Momentum Solar', 'Baker Electric', 'Palmetto', 'Local Electric Co.'];

export const FIRST_NAMES = [
  'Jordan', 'Maria', 'James', 'Aisha', 'Wei', 'Priya', 'Carlos', 'Emily', 'Noah', 'Sofia',
  'Liam', 'Olivia', 'Mateo', 'Hannah', 'Ethan', 'Chloé', 'Lucas', 'Grace', 'Mohammed', 'Zoë',
  'Daniel', 'Fatima', 'Benjamin', 'Mei', 'Samuel', 'Isabella', 'David', 'Ana', 'Kenji', 'Rachel',
  'Thomas', 'Nadia', 'Michael', 'Laura', 'José', 'Amara', 'Ryan', 'Yuki', 'Andrew', 'Leah',
];
export const LAST_NAMES = [
  'Lee', 'Garcia', 'Smith', 'Nguyen', 'Patel', 'Johnson', 'Martinez', 'Chen', 'Williams', 'Kim',
  'Brown', 'Rodriguez', 'Davis', 'Lopez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson',
  'Okafor', 'Hernández', 'Müller', 'Cohen', 'Schwartz', "O'Brien", 'Rossi', 'Tanaka', 'Singh', 'Kowalski',
  'Murphy', 'Rivera', 'Campbell', 'Nakamura', 'Fischer', 'Bennett', 'Haddad', 'Ivanova', 'Park', 'Dubois',
];
export const TITLES = ['Mr.', 'Ms.', 'Mrs.', 'Dr.', 'Mx.'];
export const COMPANIES = [
  'Bayside Cold Storage LLC', 'Harbor Point Logistics Inc.', 'Summit Ridge Apartments', 'Greenfield Grocers',
  'Oakmont Medical Plaza', 'Riverbend Unified School District', 'Pioneer Water Works', 'Lakeside Manufacturing Co.',
  'Northgate Self Storage', 'Cedar Valley Farms', 'Metro Fitness Club', 'Sunrise Senior Living',
];
export const STREETS = [
  'Mission St', 'Oak Ave', 'Maple Dr', 'Cedar Ln', 'Elm St', 'Park Blvd', 'Lakeview Rd', 'Sunset Ave',
  'Washington St', 'Lincoln Ave', 'Highland Ave', 'Spring St', 'Main St', 'Church St', 'Hillcrest Dr',
  'Meadow Ln', 'Ridge Rd', 'Willow Way', 'Chestnut St', 'Jefferson Ave', 'Broadway', 'Pine St',
  'Franklin St', 'Valley View Rd', 'Harbor Dr', 'River Rd', 'Forest Ave', 'Grand Ave', 'College Ave', 'Walnut St',
];
export const UNITS = ['Apt 4B', 'Unit 12', 'Suite 300', '#5', 'Apt 2', 'Unit B', 'Floor 3'];
export const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net'];
export const OFFERINGS = ['Home Battery Rewards', 'Smart Thermostat Savings', 'EV Charging Rewards', 'Commercial Flex Program'];

/** Load-type combinations a meter can have; a meter stores the index. */
export const LOAD_TYPE_SETS: readonly (readonly string[])[] = [
  ['HVAC'],
  ['BATTERY_STORAGE'],
  ['EV_CHARGING'],
  ['GENERATION'],
  ['HVAC', 'LIGHTING'],
  ['COLD_STORAGE', 'LIGHTING'],
  ['BUILDING_AUTOMATION', 'HVAC'],
  ['PUMPING'],
  ['HVAC', 'MANUFACTURING'],
  ['WATER_HEATING'],
  ['BATTERY_STORAGE', 'GENERATION'],
  ['OTHER'],
  ['EV_CHARGING', 'HVAC'],
  ['BATTERY_STORAGE', 'HVAC'],
];

export const TAG_SETS: readonly (readonly string[])[] = [[], ['summer-2025'], ['vip'], ['pilot', 'summer-2025'], ['battery-fleet'], ['multifamily'], ['pilot']];
export const TAG_SET_WEIGHTS = [60, 10, 5, 5, 10, 5, 5];
export const CUSTOMER_GROUPS = ['', 'Residential Batteries', 'Bay Area Pilot', 'Commercial HVAC', 'Fleet Chargers'];
export const CUSTOMER_GROUP_WEIGHTS = [70, 10, 5, 10, 5];

/** Far-future end times Leap uses for open-ended participation periods. */
export const OPEN_ENDED_SENTINELS = ['9000-12-31T23:59:59.999999999Z', '9000-01-01T00:00:00Z', '2099-12-31T00:00:00Z'];

export const IDLE_REASONS = ['Customer requested a pause', 'Device offline for maintenance', 'Customer travelling'];
export const DISENROLL_REASONS = ['Customer moved out', 'Customer cancelled the offering', 'Device removed'];
