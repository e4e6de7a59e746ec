"""The codes the FHIR resources carry, from the public terminologies.

LOINC codes and UCUM units as in FHIR R4's vital signs profile
(https://hl7.org/fhir/R4/observation-vitalsigns.html) and loinc.org for blood glucose (15074-8,
"Glucose [Moles/volume] in Blood", mmol/L as Chinese meters report) and steps (55423-8, "Number of
steps in unspecified time Pedometer"). Relationship codes from HL7 v3 RoleCode
(https://terminology.hl7.org/CodeSystem-v3-RoleCode.html), identifier types from HL7 v2 table 0203.
"""

from dataclasses import dataclass

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
ADVERSE_EVENT_CATEGORY = "http://terminology.hl7.org/CodeSystem/adverse-event-category"
SNOMED = "http://snomed.info/sct"
FALL_SNOMED = ("217082002", "Accidental fall")  # SNOMED CT, the event a fall alert records


@dataclass(frozen=True)
class Vital:
    """One kind of Observation a reading can give: its id suffix, codes, unit and category."""

    key: str  # the Observation id's suffix: "<reading id>-<key>"
    code: str
    display: str
    category: str
    unit: str = ""
    ucum: str = ""
    extra_codes: tuple[tuple[str, str], ...] = ()


HEART_RATE = Vital("hr", "8867-4", "Heart rate", "vital-signs", "beats/minute", "/min")
BLOOD_PRESSURE = Vital("bp", "85354-9", "Blood pressure panel with all children optional", "vital-signs")
SYSTOLIC = Vital("sys", "8480-6", "Systolic blood pressure", "vital-signs", "mmHg", "mm[Hg]")
DIASTOLIC = Vital("dia", "8462-4", "Diastolic blood pressure", "vital-signs", "mmHg", "mm[Hg]")
OXYGEN = Vital(
    "spo2",
    "59408-5",
    "Oxygen saturation in Arterial blood by Pulse oximetry",
    "vital-signs",
    "%",
    "%",
    extra_codes=(("2708-6", "Oxygen saturation in Arterial blood"),),  # the profile wants both
)
TEMPERATURE = Vital("temp", "8310-5", "Body temperature", "vital-signs", "C", "Cel")
GLUCOSE = Vital("glu", "15074-8", "Glucose [Moles/volume] in Blood", "laboratory", "mmol/L", "mmol/L")
STEPS = Vital("steps", "55423-8", "Number of steps in unspecified time Pedometer", "activity", "steps", "{steps}")

# The Observations a reading gives, in this order (a reading's column -> its Vital).
VITALS = {
    "heart_rate": HEART_RATE,
    "systolic": BLOOD_PRESSURE,  # with diastolic: one panel
    "spo2": OXYGEN,
    "temperature": TEMPERATURE,
    "blood_glucose": GLUCOSE,
    "steps": STEPS,
}
VITAL_BY_KEY = {vital.key: vital for vital in VITALS.values()}
# A search by `code` (LOINC) -> the key; the panel's parts find the panel.
KEY_BY_LOINC = {
    **{vital.code: vital.key for vital in VITALS.values()},
    **{code: vital.key for vital in VITALS.values() for code, _ in vital.extra_codes},
    SYSTOLIC.code: BLOOD_PRESSURE.key,
    DIASTOLIC.code: BLOOD_PRESSURE.key,
}

RELATIONSHIP = {  # our Relation -> v3 RoleCode
    "spouse": ("SPS", "spouse"),
    "son": ("SONC", "son"),
    "daughter": ("DAUC", "daughter"),
    "son_in_law": ("SONINLAW", "son in-law"),
    "daughter_in_law": ("DAUINLAW", "daughter in-law"),
    "grandchild": ("GRNDCHILD", "grandchild"),
    "sibling": ("SIB", "sibling"),
    "relative": ("FAMMEMB", "family member"),
    "neighbor": ("NBOR", "neighbor"),
    "friend": ("FRND", "unrelated friend"),
}

ENCOUNTER_STATUS = {  # our visit status -> Encounter.status (R4)
    "scheduled": "planned",
    "in_progress": "in-progress",
    "completed": "finished",
    "missed": "cancelled",  # never began: the reason says so
    "cancelled": "cancelled",
}
