"""Unit tests of the maths (no WebAssembly): python3 -m unittest discover -s tests"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import problems as p  # noqa: E402


def value(fraction):
    n, d = fraction
    return n / d


class RngTest(unittest.TestCase):
    def test_sequence_is_fixed_by_the_seed(self):
        a, b = p.Rng(42), p.Rng(42)
        self.assertEqual([a.next_u32() for _ in range(5)], [b.next_u32() for _ in range(5)])
        self.assertNotEqual(p.Rng(1).next_u32(), p.Rng(2).next_u32())

    def test_known_values(self):
        # mulberry32 reference values; a change here would change every problem.
        r = p.Rng(0)
        self.assertEqual(r.next_u32(), 1144304738)

    def test_randint_stays_in_range(self):
        r = p.Rng(7)
        seen = {r.randint(2, 5) for _ in range(500)}
        self.assertEqual(seen, {2, 3, 4, 5})


class GenerateTest(unittest.TestCase):
    def test_every_kind_and_tier_gives_a_consistent_problem(self):
        r = p.Rng(p.seed_from("unit"))
        for kind in p.KINDS:
            for tier in (1, 2, 3):
                for _ in range(200):
                    problem = p.generate(kind, tier, r)
                    self.assertEqual(problem.kind, kind)
                    self.assertEqual(p.reduce(*problem.answer), problem.answer)
                    self.assertTrue(problem.steps and problem.hint and problem.prompt)
                    # The last step or the answer line states the answer.
                    self.assertTrue(p.check(problem, p.fmt(*problem.answer)).correct, problem.prompt)

    def test_addition_answers_are_right(self):
        r = p.Rng(3)
        for tier in (1, 2, 3):
            for _ in range(100):
                problem = p.generate("add-fractions", tier, r)
                # "Work out a/b + c/d. …"
                expr = problem.prompt.split("Work out ")[1].split(".")[0]
                left, right = expr.split(" + ")
                total = sum(int(x.split("/")[0]) / int(x.split("/")[1]) for x in (left, right))
                self.assertAlmostEqual(total, value(problem.answer))

    def test_like_denominators_at_tier_one_unlike_above(self):
        r = p.Rng(5)
        for _ in range(50):
            expr = p.generate("add-fractions", 1, r).prompt.split("Work out ")[1].split(".")[0]
            left, right = expr.split(" + ")
            self.assertEqual(left.split("/")[1], right.split("/")[1])
            expr = p.generate("add-fractions", 3, r).prompt.split("Work out ")[1].split(".")[0]
            left, right = expr.split(" + ")
            self.assertNotEqual(left.split("/")[1], right.split("/")[1])

    def test_subtraction_is_never_negative(self):
        r = p.Rng(9)
        for tier in (1, 2, 3):
            for _ in range(200):
                self.assertGreaterEqual(p.generate("subtract-fractions", tier, r).answer[0], 0)

    def test_linear_equation_solution_checks(self):
        r = p.Rng(11)
        for _ in range(100):
            problem = p.generate("linear-equation", 2, r)
            self.assertIn("✓", problem.steps[-1])

    def test_unknown_kind(self):
        with self.assertRaises(KeyError):
            p.generate("calculus", 1, p.Rng(1))


class ParseAndCheckTest(unittest.TestCase):
    def problem(self, answer=(5, 12), kind="add-fractions"):
        return p.Problem(kind, 2, "Work out 1/4 + 1/6.", answer, ["…"], "hint")

    def test_parse_forms(self):
        self.assertEqual(p.parse_answer("5/12"), ((5, 12), True))
        self.assertEqual(p.parse_answer("I got 5 / 12"), ((5, 12), True))
        self.assertEqual(p.parse_answer("1 1/2"), ((3, 2), True))
        self.assertEqual(p.parse_answer("1 and 1/2"), ((3, 2), True))
        self.assertEqual(p.parse_answer("-2 1/3"), ((-7, 3), True))
        self.assertEqual(p.parse_answer("0.75"), ((75, 100), False))
        self.assertEqual(p.parse_answer("x = -4"), ((-4, 1), False))
        self.assertEqual(p.parse_answer("3/-4"), ((-3, 4), True))
        with self.assertRaises(p.InvalidAnswer):
            p.parse_answer("I don't know")
        with self.assertRaises(p.InvalidAnswer):
            p.parse_answer("3/0")

    def test_check_grades(self):
        self.assertEqual(p.check(self.problem(), "5/12").score, 1.0)
        unsimplified = p.check(self.problem(), "10/24")
        self.assertTrue(unsimplified.correct)
        self.assertFalse(unsimplified.simplified)
        self.assertEqual(unsimplified.score, 0.7)
        self.assertTrue(p.check(self.problem(), "0.4167").correct)
        self.assertFalse(p.check(self.problem(), "0.4").correct)
        self.assertFalse(p.check(self.problem(), "7/12").correct)
        self.assertTrue(p.check(self.problem((3, 2)), "1 1/2").correct)

    def test_simplifying_problems_need_lowest_terms(self):
        verdict = p.check(self.problem((1, 4), "simplify-fraction"), "2/8")
        self.assertFalse(verdict.correct)
        self.assertEqual(verdict.score, 0.3)


class LessonFitTest(unittest.TestCase):
    def test_infer_kind_prefers_the_title(self):
        self.assertEqual(p.infer_kind("Adding fractions", ["Simplify a fraction"]), "add-fractions")
        self.assertEqual(p.infer_kind("Fractions", ["Multiply two fractions"]), "multiply-fractions")
        self.assertEqual(p.infer_kind("One-step equations", []), "linear-equation")
        self.assertIsNone(p.infer_kind("The French Revolution", ["Name three causes"]))

    def test_closest_objective(self):
        objectives = [("simplify", "Simplify a fraction"), ("unlike", "Add fractions with different denominators")]
        problem = p.generate("add-fractions", 2, p.Rng(1))
        self.assertEqual(p.closest_objective(problem, objectives), "unlike")
        self.assertIsNone(p.closest_objective(problem, []))

    def test_tiers_follow_the_learner(self):
        self.assertEqual(p.next_tier(1, 0, True), (1, 1))
        self.assertEqual(p.next_tier(1, 1, True), (2, 0))
        self.assertEqual(p.next_tier(3, 5, True), (3, 6))
        self.assertEqual(p.next_tier(2, 1, False), (1, 0))
        self.assertEqual(p.next_tier(1, 0, False), (1, 0))


if __name__ == "__main__":
    unittest.main()
