#!/usr/bin/env python3
"""Writes the synthetic history fixture (every row is made up here; no real data).
Four presentations of one course (terms 2021B, 2021J, 2022B, 2022J) and one of a second
course, 30 students a term; students who will fail or withdraw are less active, absent more
and submit late or not at all. Deterministic: run it again to get the same files."""
import csv, random

rng = random.Random(18)
TERMS = [("2021B", "2021-02-01"), ("2021J", "2021-10-01"), ("2022B", "2022-02-01"), ("2022J", "2022-10-01")]
LENGTH = 240

def w(name, header, rows):
    with open(name, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)

pres = [("AAA", "Applied Algebra", t, s, LENGTH, "MATH", 30) for t, s in TERMS]
pres.append(("BBB", "Basic Biology", "2022J", "2022-10-03", 200, "BIO", 15))
w("presentations.csv", ["course_code", "course_title", "term_code", "start_date", "length_days", "department", "credits"], pres)

students, regs, assess, results, activity, attendance = [], [], [], [], [], []
submitted, missing = set(), []
n = 0
for ti, (term, _) in enumerate(TERMS):
    for a, (kind, due, weight) in enumerate([("assignment", 20, 20), ("quiz", 45, 10), ("exam", "", 70)]):
        assess.append(("AAA", term, f"AAA-{term}-{a + 1}", kind, due, weight))
    for i in range(30):
        n += 1
        no = f"S{n:04d}"
        risk = rng.random() < 0.35
        students.append((no, f"Student {n}", "M" if n % 2 else "F", 1995 + n % 8, 2020 + ti // 2, "MATH",
                         rng.randint(0, 1) + (1 if risk else 0), 60, "A Level", "Y" if n % 9 == 0 else "N"))
        reg_day = -rng.randint(5, 40)
        unreg = None
        if risk and rng.random() < 0.4:
            unreg = rng.randint(30, 90)
            regs.append((no, "AAA", term, reg_day, unreg, "withdrawn"))
        else:
            result = ("fail" if risk else rng.choice(["pass", "pass", "distinction"]))
            regs.append((no, "AAA", term, reg_day, "", result))
            score = {"fail": rng.randint(10, 39), "pass": rng.randint(40, 84), "distinction": rng.randint(85, 100)}[result]
            results.append((f"AAA-{term}-3", no, LENGTH - 5, score, 0))
            submitted.add((f"AAA-{term}-3", no))
        for a, (kind, due, weight) in enumerate([("assignment", 20, 20), ("quiz", 45, 10)]):
            code = f"AAA-{term}-{a + 1}"
            if risk and rng.random() < 0.5:
                continue
            late = rng.randint(1, 10) if risk else -rng.randint(0, 5)
            score = rng.randint(20, 60) if risk else rng.randint(55, 100)
            results.append((code, no, due + late, score, 0))
            submitted.add((code, no))
        # Not submitted and still registered at the due day: the import records it as missing.
        for a, due in [(1, 20), (2, 45)]:
            if (f"AAA-{term}-{a}", no) not in submitted and (unreg is None or unreg > due):
                missing.append((f"AAA-{term}-{a}", no))
        for day in range(0, 120, 7):
            level = rng.randint(0, 4) if risk else rng.randint(3, 15)
            if risk and day > 40:
                level = rng.randint(0, 1)
            if level:
                activity.append((no, "AAA", term, day, "all", level))
            status = rng.choice(["absent", "absent", "late", "present"]) if risk and rng.random() < 0.5 else \
                rng.choice(["present"] * 12 + ["late", "absent", "excused"])
            attendance.append((no, "AAA", term, day + 1, status))
# The second course: ten of the last term's students.
for k in range(10):
    no = f"S{91 + k:04d}"
    regs.append((no, "BBB", "2022J", -3, "", ""))

w("students.csv", ["student_no", "name", "gender", "birth_year", "cohort", "department", "prior_attempts",
                   "credits_studied", "highest_education", "disability"], students)
w("registrations.csv", ["student_no", "course_code", "term_code", "registered_day", "unregistered_day", "final_result"], regs)
w("assessments.csv", ["course_code", "term_code", "assessment_code", "kind", "due_day", "weight"], assess)
w("results.csv", ["assessment_code", "student_no", "submitted_day", "score", "banked"], results)
w("activity.csv", ["student_no", "course_code", "term_code", "day", "kind", "count"], activity)
w("attendance.csv", ["student_no", "course_code", "term_code", "day", "status"], attendance)
marks = sum(1 for a in attendance if a[4] != "present")
rolls = len({(a[2], a[3]) for a in attendance})
print(f"presentations {len(pres)} students {len(students)} registrations {len(regs)} assessments {len(assess)} "
      f"results {len(results)} missing {len(missing)} activity {len(activity)} attendance {len(attendance)} rolls {rolls} marks {marks} "
      f"dropped {sum(1 for r in regs if r[5] == 'withdrawn')} graded {sum(1 for r in regs if r[5] in ('pass', 'fail', 'distinction'))}")
